#!/usr/bin/env bash
# lang.sh - benchmark 7: Python and JavaScript hello functions (pre-initialised engines) vs the C hello, and vs python3/node CGI behind nginx + fcgiwrap.
#
# All servers listen on 127.0.0.1 and run in this invocation; every wrk run is bounded in time.
# Targets: the WAGI C hello, a JS hello and a Python hello deployed on `kernless serve` (each
# request a fresh instance from the snapshot taken after the engine loaded the code), and the
# same JS/Python hello as CGI scripts run by node / python3 behind nginx + fcgiwrap (an
# interpreter started per request). Also: each engine image's compile time and size.
set -u
. "$(dirname "$0")/lib.sh"
W=$OUT_DIR/lang
rm -rf "$W"
mkdir -p "$W/wrk" "$W/fn" "$W/cgi"
. "$ROOT/bench/http/common.sh"
trap http_cleanup EXIT

export KERNLESS_ENGINES=${KERNLESS_ENGINES:-$BUILD/engines}   # the benchmark runs a copy of the binary
SECS=${LANG_SECS:-10}
CONNS=${LANG_CONNS:-1}     # one connection: latency of one request at a time
[ "${QUICK:-0}" = 1 ] && SECS=3
TARGETS=(c js python cgi-node cgi-python)
declare -A LABEL=([c]="kernless serve, C hello (WAGI)" [js]="kernless serve, JS hello (QuickJS, pre-initialised)"
  [python]="kernless serve, Python hello (CPython 3.11, pre-initialised)"
  [cgi-node]="node CGI via nginx + fcgiwrap" [cgi-python]="python3 CGI via nginx + fcgiwrap")
declare -A URL SKIP

# ---- the functions -------------------------------------------------------------
printf 'function handle(request) {\n  return "%s\\n";\n}\n' "$HELLO_BODY" >"$W/fn/hello.js"
printf 'def handle(request):\n    return "%s\\n"\n' "$HELLO_BODY" >"$W/fn/hello.py"
# The interpreters themselves, by absolute path: a version manager's shim
# (pyenv's python3 is a bash script) would add its own start-up to every request.
PY3=$(ls /usr/bin/python3 2>/dev/null || command -v python3)
NODE=$(ls /usr/bin/node 2>/dev/null || command -v node)
printf '#!%s\nprocess.stdout.write("Content-Type: text/plain\\r\\n\\r\\n%s\\n");\n' "$NODE" "$HELLO_BODY" >"$W/cgi/hello-node"
printf '#!%s\nimport sys\nsys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n%s\\n")\n' "$PY3" "$HELLO_BODY" >"$W/cgi/hello-python"
chmod +x "$W/cgi/hello-node" "$W/cgi/hello-python"

# ---- engine images: compile time and size (no cache) ------------------------------
declare -A CT SZ WS
for l in js python; do
  e=$BUILD/engines/$l.wasm
  if [ ! -f "$e" ]; then SKIP[$l]="the $l engine is not built (make engines)"; continue; fi
  WS[$l]=$(stat -c %s "$e")
  # LANG_NO_COMPILE=1 skips this (minutes for Python on a loaded machine): the
  # served functions use the shared image cache either way.
  if [ "${LANG_NO_COMPILE:-0}" = 1 ]; then CT[$l]="not measured in this run (LANG_NO_COMPILE=1)"; continue; fi
  t0=$(date +%s%N)
  if "$KL" compile "$e" -o "$W/$l.kimg" >"$W/$l.compile.log" 2>&1; then
    CT[$l]=$(( ($(date +%s%N) - t0) / 1000000 ))
    SZ[$l]=$(stat -c %s "$W/$l.kimg")
  else
    CT[$l]="failed: $(tail -c 150 "$W/$l.compile.log" | tr '\n|' '  ')"
  fi
done

# ---- servers ----------------------------------------------------------------------
setup_kernless_serve || true
if [ -n "$SERVE_URL" ]; then
  URL[c]=$SERVE_URL/hello
  for l in js python; do
    [ -n "${SKIP[$l]:-}" ] && continue
    ext=js; [ "$l" = python ] && ext=py
    if KERNLESS_DATA=$W/serve/data KERNLESS_URL=$SERVE_ADMIN_URL "$KL" deploy "hello-$l" "$W/fn/hello.$ext" \
         --route "/hello-$l" >"$W/deploy-$l.out" 2>&1; then
      URL[$l]=$SERVE_URL/hello-$l
    else
      SKIP[$l]="deploy failed: $(tail -c 150 "$W/deploy-$l.out" | tr '\n|' '  ')"
    fi
  done
else
  for t in c js python; do SKIP[$t]="not available: $SERVE_ERR"; done
fi
if nginx_cgi 18580 /node "/node=$W/cgi/hello-node" "/python=$W/cgi/hello-python"; then
  URL[cgi-node]=http://127.0.0.1:$NGINX_PORT/node
  URL[cgi-python]=http://127.0.0.1:$NGINX_PORT/python
else
  for t in cgi-node cgi-python; do SKIP[$t]=$NGINX_ERR; done
fi

fail=0
for t in "${TARGETS[@]}"; do
  [ -n "${SKIP[$t]:-}" ] && continue
  if ! check_body "${URL[$t]}"; then
    SKIP[$t]="wrong answer: $(curl -s --max-time 10 "${URL[$t]}" | head -c 100 | tr '\n|' '  ')"
    fail=1
  fi
done
for t in "${TARGETS[@]}"; do
  [ -n "${SKIP[$t]:-}" ] && continue
  blog "lang: $t, $CONNS connection(s), $SECS s"
  run_wrk "${URL[$t]}" "$CONNS" "$SECS" "$W/wrk/$t"
done

# ---- report ---------------------------------------------------------------------------
field() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }
pct() { awk -v p="$2" '$1 == "pct" && $2 == p { printf "%.3f", $3 / 1000; exit }' "$1" 2>/dev/null; }
p50() { pct "$W/wrk/$1" 50; }
{
  printf '## lang: Python and JavaScript functions (%s backend)\n\n' "$BENCH_ISOLATION"
  section_provenance
  printf '`wrk -c%s -d%ss` per target, one request at a time unless LANG_CONNS says otherwise; ' "$CONNS" "$SECS"
  printf 'every body checked first. Each Kernless request is a fresh instance reset to the snapshot '
  printf 'taken after the engine started and ran the script'"'"'s top level; each CGI request starts an interpreter.\n\n'
  printf '| target | p50 ms | p99 ms | req/s | p50 / C hello | CGI p50 / this |\n|---|---|---|---|---|---|\n'
  for t in "${TARGETS[@]}"; do
    if [ -n "${SKIP[$t]:-}" ]; then printf '| %s | %s | | | | |\n' "${LABEL[$t]}" "${SKIP[$t]}"; continue; fi
    f=$W/wrk/$t
    vs_c=$(ratio "$(p50 "$t")" "$(p50 c 2>/dev/null)")
    vs_cgi=""
    [ "$t" = js ] && vs_cgi=$(ratio "$(p50 cgi-node 2>/dev/null)" "$(p50 js)")
    [ "$t" = python ] && vs_cgi=$(ratio "$(p50 cgi-python 2>/dev/null)" "$(p50 python)")
    printf '| %s | %s | %s | %.0f | %s | %s |\n' "${LABEL[$t]}" "$(pct "$f" 50)" "$(pct "$f" 99)" \
      "$(field "$f" rps)" "$vs_c" "$vs_cgi"
  done
  printf '\nGoals: Python/JS hello p50 at most 2x the C hello; at least 20x faster than the CGI interpreters.\n\n'
  printf '| engine image | wasm | image (.kimg) | compile (wasm2c + cc -O2, no cache) |\n|---|---|---|---|\n'
  for l in js python; do
    if [ -n "${WS[$l]:-}" ]; then
      printf '| %s | %s KiB | %s | %s |\n' "$l" "$(( WS[$l] / 1024 ))" \
        "$([ -n "${SZ[$l]:-}" ] && echo "$(( SZ[$l] / 1024 )) KiB" || echo n/a)" \
        "$(case ${CT[$l]} in failed*|not*) echo "${CT[$l]}" ;; *) awk -v m="${CT[$l]}" 'BEGIN { printf "%.1f s", m / 1000 }' ;; esac)"
    else
      printf '| %s | %s | | |\n' "$l" "${SKIP[$l]}"
    fi
  done
  printf '\n'
} >"$RESULTS_DIR/lang-$BENCH_ISOLATION.md"
cat "$RESULTS_DIR/lang-$BENCH_ISOLATION.md"
exit $fail
