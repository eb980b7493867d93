#!/usr/bin/env bash
# http.sh - benchmark 5: requests/s and latency of a hello over HTTP: kernless serve vs nginx static vs CGI behind nginx+fcgiwrap.
#
# All servers listen on 127.0.0.1 and run in this same invocation; wrk runs are bounded in time.
# Targets: nginx serving a static file with the hello body (the ceiling), a native CGI hello behind
# nginx + fcgiwrap (a process per request), the same hello as a per-request `kernless run` behind
# fcgiwrap (a VM per request, no server), and the WAGI hello deployed on `kernless serve`.
# Each target's body is checked first, and wrk's errors are reported: no answer, no number.
set -u
. "$(dirname "$0")/lib.sh"
W=$OUT_DIR/http
rm -rf "$W"
mkdir -p "$W/wrk"
. "$ROOT/bench/http/common.sh"
trap http_cleanup EXIT

LEVELS=(${HTTP_LEVELS:-1 8 32 128})   # connections; wrk uses 2 threads (1 for a single connection)
HEAD=${HTTP_HEAD_CONNS:-32}           # the headline level, repeated HTTP_RUNS times
RUNS=${HTTP_RUNS:-3}
SECS=${HTTP_SECS:-10}                 # duration of each headline run
SWEEP_SECS=${HTTP_SWEEP_SECS:-5}      # duration of each run at the other levels
if [ "${QUICK:-0}" = 1 ]; then LEVELS=(1 32); RUNS=1; SECS=2; SWEEP_SECS=2; fi

TARGETS=(static cgi kernless-cgi serve)
declare -A LABEL=([static]="nginx static file" [cgi]="CGI hello (native) via nginx + fcgiwrap"
  [kernless-cgi]="CGI: kernless run hello.kimg via nginx + fcgiwrap" [serve]="kernless serve, WAGI hello")
declare -A COLOR=([static]="#000000" [cgi]="#ff7f0e" [kernless-cgi]="#2ca02c" [serve]="#1f77b4")
declare -A URL SKIP

setup_nginx || true
setup_kernless_serve || true
if [ -n "$NGINX_URL" ]; then
  URL[static]=$NGINX_URL/hello.txt
  URL[cgi]=$NGINX_URL/cgi
  URL[kernless-cgi]=$NGINX_URL/cgi-kernless
else
  for t in static cgi kernless-cgi; do SKIP[$t]="not measured: $NGINX_ERR"; done
fi
if [ -n "$SERVE_URL" ]; then URL[serve]=$SERVE_URL/hello; else SKIP[serve]="not available yet: $SERVE_ERR"; fi
[ -x "$W/cgi/kernless-hello" ] || SKIP[kernless-cgi]="not measured: the hello image does not build"

fail=0
for t in "${TARGETS[@]}"; do
  [ -n "${SKIP[$t]:-}" ] && continue
  if ! check_body "${URL[$t]}"; then
    SKIP[$t]="wrong answer: $(curl -s --max-time 10 "${URL[$t]}" | head -c 100 | tr '\n|' '  ')"
    blog "http: $t: ${SKIP[$t]}"
    fail=1
  fi
done

# Levels outside-in per target would favour whichever runs on a quiet moment; instead every
# (level, run) visits all targets in turn.
for c in "${LEVELS[@]}"; do
  n=1; secs=$SWEEP_SECS
  [ "$c" = "$HEAD" ] && { n=$RUNS; secs=$SECS; }
  for ((r = 1; r <= n; r++)); do
    for t in "${TARGETS[@]}"; do
      [ -n "${SKIP[$t]:-}" ] && continue
      blog "http: $t, $c connections, run $r of $n ($secs s)"
      run_wrk "${URL[$t]}" "$c" "$secs" "$W/wrk/$t.c$c.r$r"
    done
  done
done

# ---- report ------------------------------------------------------------------
# field FILE KEY: the value after KEY in a stats.lua output (first match).
field() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }
pct() { awk -v p="$2" '$1 == "pct" && $2 == p { printf "%.2f", $3 / 1000; exit }' "$1" 2>/dev/null; }
errs() { awk '$1 == "errors" { print $2 + $3; exit }' "$1" 2>/dev/null; }

: >"$W/scaling.dat"
{
  printf '## http: hello over HTTP on 127.0.0.1 (%s)\n\n' "$BENCH_TITLE"
  section_provenance
  printf '`wrk -t2 -c<N> --timeout 5s` (one thread for one connection) from the same machine, so wrk and '
  printf 'the server share its %s cores. Headline: %s connections, %s runs of %s s; ' "$(nproc)" "$HEAD" "$RUNS" "$SECS"
  printf 'other levels (%s): one run of %s s. Each target'"'"'s body was checked before loading it; ' "${LEVELS[*]}" "$SWEEP_SECS"
  printf 'errors are wrk'"'"'s socket errors plus non-2xx answers. Latency is wrk'"'"'s (from the headline run with the median rate).\n\n'
  printf '| target | req/s median (min–max), %s conns | / nginx static | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n' "$HEAD"
  static_rps=""
  for t in "${TARGETS[@]}"; do
    if [ -n "${SKIP[$t]:-}" ]; then
      printf '| %s | %s | | | | |\n' "${LABEL[$t]}" "${SKIP[$t]}"
      continue
    fi
    : >"$W/$t.rps"
    for ((r = 1; r <= RUNS; r++)); do
      v=$(field "$W/wrk/$t.c$HEAD.r$r" rps)
      [ -n "$v" ] && echo "$v" >>"$W/$t.rps"
    done
    if [ ! -s "$W/$t.rps" ]; then
      printf '| %s | **wrk failed: %s** | | | | |\n' "${LABEL[$t]}" "$(head -c 150 "$W/wrk/$t.c$HEAD.r1" | tr '\n|' '  ')"
      fail=1
      continue
    fi
    read -r _ med mn mx < <(stats "$W/$t.rps")
    [ "$t" = static ] && static_rps=$med
    # The run whose rate is the median gives the latency figures and the distribution plot.
    mrun=1
    for ((r = 1; r <= RUNS; r++)); do
      [ "$(field "$W/wrk/$t.c$HEAD.r$r" rps)" = "$(sort -g "$W/$t.rps" | sed -n "$(( (RUNS + 1) / 2 ))p")" ] && mrun=$r
    done
    f=$W/wrk/$t.c$HEAD.r$mrun
    e=0
    for ((r = 1; r <= RUNS; r++)); do e=$(( e + $(errs "$W/wrk/$t.c$HEAD.r$r" || echo 0) )); done
    [ "$e" -gt 0 ] && fail=1
    printf '| %s | %.0f (%.0f–%.0f) | %s | %s | %s | %s |\n' "${LABEL[$t]}" "$med" "$mn" "$mx" \
      "$(ratio "$med" "$static_rps")" "$(pct "$f" 50)" "$(pct "$f" 99)" "$([ "$e" -gt 0 ] && echo "**$e**" || echo 0)"
    awk '$1 == "pct" { printf "%.4f %.4f\n", $3 / 1000, $2 / 100 }' "$f" >"$W/$t.cdf"
  done
  printf '\n'
  if [ -n "${SKIP[serve]:-}" ]; then
    printf 'Goal: kernless serve at least 50%% of nginx static req/s: not measured (%s).\n\n' "${SKIP[serve]}"
  else
    sr=$(ratio "$(median "$W/serve.rps" 2>/dev/null)" "$static_rps")
    printf 'Goal: kernless serve at least 50%% of nginx static req/s: %s (%s).\n\n' \
      "$(awk -v r="$sr" 'BEGIN { if (r == "n/a") print "not measured"; else if (r >= 0.5) print "met"; else print "**not met**" }')" "$sr"
  fi
  printf '**Scaling:** req/s by connections (the headline level is its median)\n\n| target |'
  for c in "${LEVELS[@]}"; do printf ' %s |' "$c"; done
  printf '\n|---|'
  for c in "${LEVELS[@]}"; do printf -- '---|'; done
  printf '\n'
  for t in "${TARGETS[@]}"; do
    [ -n "${SKIP[$t]:-}" ] && continue
    printf '| %s |' "${LABEL[$t]}"
    for c in "${LEVELS[@]}"; do
      if [ "$c" = "$HEAD" ] && [ -s "$W/$t.rps" ]; then v=$(median "$W/$t.rps"); else v=$(field "$W/wrk/$t.c$c.r1" rps); fi
      printf ' %s |' "$(awk -v v="$v" 'BEGIN { if (v == "") print "n/a"; else printf "%.0f", v }')"
      [ -n "$v" ] && echo "$c $v" >>"$W/$t.scaling"
    done
    printf '\n'
  done
  printf '\n![req/s against connections](plots/http-scaling-'"$BENCH_TAG"'.png)\n![latency distribution](plots/http-latency-'"$BENCH_TAG"'.png)\n\n'
} >"$RESULTS_DIR/http-$BENCH_TAG.md"

# plots: one line per measured target
plot_lines() {   # plot_lines SUFFIX USING STYLE
  local sep="plot" t
  for t in "${TARGETS[@]}"; do
    [ -s "$W/$t.$1" ] || continue
    printf '%s "%s" using %s with %s lw 2 lc rgb "%s" title "%s"' "$sep" "$W/$t.$1" "$2" "$3" "${COLOR[$t]}" "${LABEL[$t]}"
    sep=", \\"$'\n'
  done
  printf '\n'
}
if ls "$W"/*.scaling >/dev/null 2>&1; then
  plot_png "$PLOTS_DIR/http-scaling-$BENCH_TAG.png" <<EOF
set title "http: requests/s against concurrent connections (wrk on the same 2 cores)"
set logscale x 2
set logscale y
set xlabel "connections"
set ylabel "requests/s (log scale)"
set key below
$(plot_lines scaling 1:2 linespoints)
EOF
  plot_png "$PLOTS_DIR/http-latency-$BENCH_TAG.png" <<EOF
set title "http: latency distribution at $HEAD connections (wrk percentiles)"
set logscale x
set xlabel "latency, ms (log scale)"
set ylabel "fraction of requests"
set yrange [0:1.02]
set key below
$(plot_lines cdf 1:2 steps)
EOF
fi
exit $fail
