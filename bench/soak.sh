#!/usr/bin/env bash
# soak.sh - `make soak`: SOAK_SECONDS (default 600) of mixed load on `kernless serve`, then
# bench/SOAK.md and bench/plots/soak.png. Not part of `make test`, nor of `make bench` unless B=soak.
#
# Usage: bench/soak.sh [BUILD]      (SOAK_SECONDS=60 make soak for a short run)
#
# One server (the release binary, a private copy) with its own data folder serves eight functions
# built from bench/soak/ (hello is examples/wagi-hello). A load program in C with libcurl
# (bench/soak/load.c) sends a weighted random mix of them over SOAK_CONNS keep-alive connections,
# and counts every answer by (kind, status, cause); each kind has one expected status, cause
# (X-Kernless-Error, or none) and body, and anything else is "unexpected", connection errors and
# client timeouts included. Meanwhile the server's VmRSS, VmHWM, open fds, threads and warm VMs
# are sampled every SOAK_SAMPLE seconds.
#
# Exit status: 0 when nothing was unexpected, the server survived, and RSS and fds stayed within
# the tolerances below after the warm-up; 1 otherwise. Everything in SOAK.md is computed here.
#
# Environment (defaults): SOAK_SECONDS (600), SOAK_CONNS (8), SOAK_SAMPLE (2 s),
# SOAK_WARMUP (a tenth of the run, 10..60 s), SOAK_IDLE_MS (2000, the server's --idle-ms),
# SOAK_COLD_EVERY (5 s), SOAK_MIX (weights, see load.c), SOAK_RSS_TOL_MB, SOAK_FD_TOL (below).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${1:-${BUILD:-build}}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export ROOT BUILD
KL=${KERNLESS_BIN:-$BUILD/kernless}
. "$ROOT/bench/lib.sh"

SECS=${SOAK_SECONDS:-600}
CONNS=${SOAK_CONNS:-8}
SAMPLE=${SOAK_SAMPLE:-2}
IDLE_MS=${SOAK_IDLE_MS:-2000}
COLD_EVERY=${SOAK_COLD_EVERY:-5}
WARMUP=${SOAK_WARMUP:-$(( SECS / 10 < 10 ? 10 : SECS / 10 > 60 ? 60 : SECS / 10 ))}
# Tolerances, judged after the warm-up (the reasons are repeated in SOAK.md):
# - RSS: the least-squares line through the samples may rise by at most SOAK_RSS_TOL_MB
#   (default 24) over the rest of the run. RSS follows the number of warm VMs, and a warm VM of
#   the grow function keeps the 32 MiB it grew, zeroed, for its next request; so the load first
#   sends every kind on all connections at once, which brings each pool to the one VM per
#   connection it can ever need during the warm-up. After it the VM count is constant (the cold
#   function's one VM comes and goes), and RSS should be flat but for allocator noise and a pool
#   of a fast function that still adds a small VM. 24 MB over the ~9 minutes after a 10-minute
#   run's warm-up is ~2.7 MB a minute: a leak of 60 bytes per request at ~750 req/s.
# - fds: the fitted line may rise by at most SOAK_FD_TOL (default 12) after the warm-up: a VM
#   holds 3 fds and the cold function's VM comes and goes, so 12 is a few VMs' worth, while an
#   fd leaked per request or per error would add thousands. And once the load stops and the
#   idle reaper has given every VM back, the count must be back within SOAK_FD_TOL of what it was
#   before the load started.
RSS_TOL_MB=${SOAK_RSS_TOL_MB:-24}
FD_TOL=${SOAK_FD_TOL:-12}

OUT_DIR=${OUT_DIR:-$ROOT/bench/out}
PLOTS_DIR=${PLOTS_DIR:-$ROOT/bench/plots}
W=$OUT_DIR/soak
REPORT=$ROOT/bench/SOAK.md
PLOT=$PLOTS_DIR/soak.png

for v in SECS CONNS SAMPLE IDLE_MS WARMUP RSS_TOL_MB FD_TOL; do
  case ${!v} in ''|*[!0-9]*) echo "soak: $v must be a whole number, got '${!v}'" >&2; exit 2 ;; esac
done
if [ "$WARMUP" -ge "$SECS" ]; then
  echo "soak: the warm-up ($WARMUP s) must be shorter than the run ($SECS s)" >&2; exit 2
fi
if [ ! -x "$KL" ]; then
  echo "soak: no kernless binary at $KL (run make first)" >&2; exit 1
fi
need_pkgs gnuplot-nox curl clang lld wasi-libc libclang-rt-14-dev-wasm32 libcurl4-openssl-dev \
  pkg-config || { echo "soak: cannot install the packages" >&2; exit 1; }

rm -rf "$W"
mkdir -p "$W/fn" "$W/load" "$PLOTS_DIR"
# Soak a private copy of the binary and its guest runtime, as bench/run.sh does: a rebuild of
# BUILD during the run must not change the server under test.
if [ -z "${KERNLESS_BIN:-}" ]; then
  cp -a "$KL" "$W/kernless" && cp -a "$(dirname "$KL")/guest" "$W/guest" ||
    { echo "soak: cannot copy $KL and its guest/" >&2; exit 1; }
  KL=$W/kernless
fi

# ---- build the functions and the load program -----------------------------------
blog "soak: building the functions and the load program"
ok=1
wasm_cc "$ROOT/examples/wagi-hello/hello.c" "$W/fn/hello.wasm" 2>>"$W/build.log" || ok=0
for f in trap spin grow echo flood; do
  wasm_cc "$ROOT/bench/soak/$f.c" "$W/fn/$f.wasm" 2>>"$W/build.log" || ok=0
done
# shellcheck disable=SC2046
gcc -std=gnu11 -O2 -Wall -Wextra -o "$W/load/load" "$ROOT/bench/soak/load.c" \
  $(pkg-config --cflags --libs libcurl) -lpthread 2>>"$W/build.log" || ok=0
if [ $ok -ne 1 ]; then
  echo "soak: build failed: $(head -c 600 "$W/build.log")" >&2; exit 1
fi

# ---- the server ------------------------------------------------------------------
SPID=""
SAMPLER=""
cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
}
trap cleanup EXIT
SERVE_FLAGS=(--isolation "$BENCH_ISOLATION" --idle-ms "$IDLE_MS")
"$KL" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$W/data" "${SERVE_FLAGS[@]}" \
  >"$W/serve.out" 2>"$W/serve.err" &
SPID=$!
PORT=""
for _ in $(seq 1 100); do
  # The start line names the function listener, then the admin one.
  line=$(grep -m1 ' serving ' "$W/serve.out" 2>/dev/null)
  PORT=$(printf '%s\n' "$line" | grep -o 'http://127.0.0.1:[0-9]*' | sed -n '1s/.*://p')
  APORT=$(printf '%s\n' "$line" | grep -o 'http://127.0.0.1:[0-9]*' | sed -n '2s/.*://p')
  [ -n "$APORT" ] && break
  kill -0 "$SPID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "soak: the server did not start: $(tail -c 400 "$W/serve.err")" >&2; exit 1
fi
U=http://127.0.0.1:$PORT
ADMIN=http://127.0.0.1:$APORT
export KERNLESS_DATA=$W/data KERNLESS_URL=$ADMIN
unset KERNLESS_TOKEN
TOKEN=$(cat "$W/data/admin.token")

GROW_MB=32   # what the grow function grows by, each request
# name  module  route  deploy options: keep the routes in step with kinds[] in load.c.
FUNCS=(
  "hello|hello|/hello|"
  "cold|hello|/cold|"
  "trap|trap|/trap|"
  "timeout|spin|/timeout|--timeout-ms 200"
  "grow|grow|/grow|--env GROW_MB=$GROW_MB"
  "growmax|grow|/growmax|--env GROW_MB=64 --max-memory-mb 16"
  "bigbody|echo|/bigbody|--max-body-kb 1024 --max-response-kb 2048"
  "outlimit|flood|/outlimit|--env FLOOD_KB=256 --max-response-kb 64"
)
declare -A DEPLOY_OPTS MODULE
for f in "${FUNCS[@]}"; do
  IFS='|' read -r name mod route opts <<<"$f"
  MODULE[$name]=$mod
  DEPLOY_OPTS[$name]="--route $route${opts:+ $opts}"
  # shellcheck disable=SC2086
  if ! "$KL" deploy "$name" "$W/fn/$mod.wasm" --route "$route" $opts >>"$W/deploy.out" 2>>"$W/deploy.err"; then
    echo "soak: deploy $name failed: $(tail -c 400 "$W/deploy.err")" >&2; exit 1
  fi
done
if [ "$(curl -s --max-time 10 "$U/hello")" != "Hello from Kernless!" ]; then
  echo "soak: /hello does not answer its body" >&2; exit 1
fi

# ---- sampling ----------------------------------------------------------------------
# sample_now T: one CSV line: seconds since the load started, VmRSS and VmHWM in kB, open fds,
# threads, warm VMs (the server's kernless_vms_total gauge).
sample_now() {
  local st fds vms
  st=$(awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } $1 == "Threads:" { t = $2 }
            END { if (r != "") print r "," h "," t }' "/proc/$SPID/status" 2>/dev/null)
  [ -n "$st" ] || return 1
  fds=$(ls "/proc/$SPID/fd" 2>/dev/null | wc -l)
  vms=$(curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$ADMIN/metrics" |
        awk '$1 == "kernless_vms_total" { print $2 }')
  IFS=, read -r rss hwm thr <<<"$st"
  printf '%s,%s,%s,%s,%s,%s\n' "$1" "$rss" "$hwm" "$fds" "$thr" "${vms:-}"
}
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Before the load: every VM idle long enough to be given back.
sleep "$(awk -v ms="$IDLE_MS" 'BEGIN { printf "%.1f", ms / 1000 + 1.5 }')"
BEFORE=$(sample_now before)
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(bench_date)
COMMIT=$(bench_commit)

echo "t,rss_kb,hwm_kb,fds,threads,vms" >"$W/samples.csv"
T0=$EPOCHREALTIME
(
  while [ ! -e "$W/stop" ]; do
    sample_now "$(elapsed_since "$T0")" >>"$W/samples.csv" || break
    sleep "$SAMPLE"
  done
) &
SAMPLER=$!
blog "soak: $SECS s of mixed load, $CONNS connections, on $U (server pid $SPID); warm-up $WARMUP s"
"$W/load/load" "$U" "$CONNS" "$SECS" "$W/load" "$COLD_EVERY" 2>&1 | while IFS= read -r l; do blog "$l"; done
LOAD_RC=${PIPESTATUS[0]}
touch "$W/stop"
wait "$SAMPLER" 2>/dev/null
SAMPLER=""
LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
ALIVE=yes
kill -0 "$SPID" 2>/dev/null || ALIVE=no
HEALTH=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$U/healthz")
curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$ADMIN/metrics" >"$W/metrics.txt"
# After the load: wait for the idle reaper to give every VM back, then compare with BEFORE.
sleep "$(awk -v ms="$IDLE_MS" 'BEGIN { printf "%.1f", ms / 1000 + 1.5 }')"
AFTER=$(sample_now after)
blog "soak: load exit status $LOAD_RC, server alive: $ALIVE, /healthz: $HEALTH"

# ---- figures -------------------------------------------------------------------------
S=$W/samples.csv
# fit COL: over samples with t >= WARMUP: "n first_t first last max slope_per_min fitted_rise"
# (first/last: the first sample after the warm-up and the last one of the run; slope by least
# squares in units per minute; fitted_rise: the line's rise from the first to the last sample).
fit() {
  awk -F, -v c="$1" -v w="$WARMUP" -v e="$SECS" 'NR > 1 && $1 >= w && $1 <= e && $c != "" {
      x = $1 / 60; y = $c; n++; sx += x; sy += y; sxx += x * x; sxy += x * y
      if (n == 1) { t0 = $1; first = y; x0 = x }
      last = y; x1 = x; if (n == 1 || y > mx) mx = y }
    END {
      if (n < 2) { print "0 0 nan nan nan nan nan"; exit }
      d = n * sxx - sx * sx; s = d ? (n * sxy - sx * sy) / d : 0
      printf "%d %s %s %s %s %.6f %.6f\n", n, t0, first, last, mx, s, s * (x1 - x0) }' "$S"
}
# maxall COL: the maximum over the whole run, warm-up included.
maxall() { awk -F, -v c="$1" -v e="$SECS" 'NR > 1 && $1 <= e && $c != "" && (m == "" || $c > m) { m = $c } END { print m }' "$S"; }
col_of() { echo "$1" | cut -d, -f"$2"; }
mb() { awk -v k="$1" 'BEGIN { if (k == "" || k == "nan") print "n/a"; else printf "%.1f", k / 1024 }'; }
f1() { awk -v x="$1" 'BEGIN { if (x == "" || x == "nan") print "n/a"; else printf "%.1f", x }'; }
f2() { awk -v x="$1" 'BEGIN { if (x == "" || x == "nan") print "n/a"; else printf "%.2f", x }'; }

read -r RN RT0 RSS0 RSS1 RSSMAX RSS_SLOPE RSS_RISE < <(fit 2)
read -r _ _ HWM0 HWM1 HWMMAX _ _ < <(fit 3)
read -r _ _ FD0 FD1 FDMAX FD_SLOPE FD_RISE < <(fit 4)
read -r _ _ TH0 TH1 THMAX TH_SLOPE TH_RISE < <(fit 5)
read -r _ _ VM0 VM1 VMMAX VM_SLOPE VM_RISE < <(fit 6)
REQS=$(awk '$1 == "requests" { print $2 }' "$W/load/summary.txt" 2>/dev/null)
UNEXP=$(awk '$1 == "unexpected" { print $2 }' "$W/load/summary.txt" 2>/dev/null)
ELAPSED=$(awk '$1 == "elapsed" { print $2 }' "$W/load/summary.txt" 2>/dev/null)
CONNECTS=$(awk '$1 == "connects" { print $2 }' "$W/load/summary.txt" 2>/dev/null)

# The verdict: every reason to fail, one per line.
: >"$W/failures"
fail_if() { if [ "$1" = 1 ]; then echo "$2" >>"$W/failures"; fi; }
[ -n "$REQS" ] || echo "the load program wrote no summary (exit status $LOAD_RC)" >>"$W/failures"
fail_if "$([ "${UNEXP:-1}" != 0 ] && echo 1)" "${UNEXP:-?} unexpected answers (bench/out/soak/load/unexpected.log)"
fail_if "$([ "$ALIVE" != yes ] && echo 1)" "the server died during the run (bench/out/soak/serve.err)"
fail_if "$([ "$HEALTH" != 200 ] && echo 1)" "/healthz answered $HEALTH after the run"
fail_if "$([ "${RN:-0}" -lt 3 ] && echo 1)" "only ${RN:-0} samples after the warm-up: cannot judge RSS and fds"
fail_if "$(awk -v r="$RSS_RISE" -v t="$RSS_TOL_MB" 'BEGIN { print (r == "nan" || r / 1024 > t) ? 1 : 0 }')" \
  "RSS rose by $(mb "$RSS_RISE") MB after the warm-up (least squares), over the $RSS_TOL_MB MB tolerance"
fail_if "$(awk -v r="$FD_RISE" -v t="$FD_TOL" 'BEGIN { print (r == "nan" || r > t) ? 1 : 0 }')" \
  "open fds rose by $(f1 "$FD_RISE") after the warm-up (least squares), over the tolerance of $FD_TOL"
FD_BEFORE=$(col_of "$BEFORE" 4); FD_AFTER=$(col_of "$AFTER" 4)
fail_if "$(awk -v a="$FD_AFTER" -v b="$FD_BEFORE" -v t="$FD_TOL" 'BEGIN { print (a == "" || b == "" || a - b > t) ? 1 : 0 }')" \
  "idle after the load the server holds ${FD_AFTER:-?} fds against ${FD_BEFORE:-?} before it (tolerance $FD_TOL)"
if [ -s "$W/failures" ]; then VERDICT=FAIL; else VERDICT=PASS; fi

# ---- plot --------------------------------------------------------------------------------
awk -F, -v e="$SECS" 'NR > 1 && $1 <= e { printf "%.4f %.3f %.3f %s %s %s\n", $1 / 60, $2 / 1024, $3 / 1024, $4, $5, ($6 == "" ? "NaN" : $6) }' \
  "$S" >"$W/samples.dat"
awk -F, 'NR > 1 { printf "%.4f %s %s\n", ($1 + 0.5) / 60, $2, $3 }' "$W/load/timeline.csv" >"$W/timeline.dat" 2>/dev/null
WM=$(awk -v w="$WARMUP" 'BEGIN { printf "%.4f", w / 60 }')
XMAX=$(awk -v s="$SECS" 'BEGIN { printf "%.4f", s / 60 }')
# The least-squares RSS line, drawn over the part of the run it was fitted on.
RSS_LINE=$(awk -v s="$RSS_SLOPE" -F, -v w="$WARMUP" -v e="$SECS" 'NR > 1 && $1 >= w && $1 <= e {
    x = $1 / 60; y = $2; k++; sx += x; sy += y } END {
    if (k < 2 || s == "nan") { print ""; exit }
    printf "(%.9g + %.9g * (x - %.9g)) / 1024", sy / k, s, sx / k }' "$S")
plot_png "$PLOT" <<EOF
set terminal pngcairo size 960,1400 font "DejaVu Sans,11" noenhanced
set multiplot layout 4,1 title "kernless soak: ${SECS} s, ${CONNS} connections, commit ${COMMIT}, ${DATE}"
set xlabel "minutes since the load started"
set xrange [0:$XMAX]
set key below horizontal
set lmargin 10
set rmargin 4
set arrow 1 from $WM, graph 0 to $WM, graph 1 nohead dashtype 2 lc rgb "#888888"
set label 1 "end of warm-up" at $WM, graph 0.06 offset 0.5,0 textcolor rgb "#666666"
set title "server memory (MB)"
set ylabel "MB"
set yrange [0:*]
plot "$W/samples.dat" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "VmRSS", \\
     "$W/samples.dat" using 1:3 with lines lw 1 dashtype 3 lc rgb "#7f7f7f" title "VmHWM"$( [ -n "$RSS_LINE" ] && printf ', \\\n     (x >= %s ? %s : 1/0) with lines lw 2 dashtype 2 lc rgb "#d62728" title "RSS least squares after warm-up"' "$WM" "$RSS_LINE")
set title "server open fds, threads and warm VMs"
set ylabel "count"
plot "$W/samples.dat" using 1:4 with lines lw 2 lc rgb "#2ca02c" title "open fds", \\
     "$W/samples.dat" using 1:5 with lines lw 2 lc rgb "#ff7f0e" title "threads", \\
     "$W/samples.dat" using 1:6 with lines lw 1 lc rgb "#9467bd" title "warm VMs"
set title "change since the end of the warm-up as a fraction of its tolerance (the judged part of the run)"
set xrange [$WM:$XMAX]
set ylabel "change / tolerance"
set yrange [*<-1.25:1.25<*]
plot "$W/samples.dat" using 1:(\$1 >= $WM ? (\$2 - $(mb "${RSS0:-0}")) / $RSS_TOL_MB : 1/0) with lines lw 2 lc rgb "#1f77b4" title "RSS change / $RSS_TOL_MB MB", \\
     "$W/samples.dat" using 1:(\$1 >= $WM ? (\$4 - ${FD0:-0}) / $FD_TOL. : 1/0) with lines lw 2 lc rgb "#2ca02c" title "open fds change / $FD_TOL", \\
     1 with lines dashtype 2 lw 2 lc rgb "#d62728" title "tolerance"
set xrange [0:$XMAX]
set yrange [0:*]
set title "load: answers per second (all kinds) and unexpected answers per second"
set ylabel "per second"
plot "$W/timeline.dat" using 1:2 with lines lw 1 lc rgb "#1f77b4" title "answers/s", \\
     "$W/timeline.dat" using 1:3 with impulses lw 2 lc rgb "#d62728" title "unexpected/s"
unset multiplot
EOF

# ---- report ----------------------------------------------------------------------------
POST_MIN=$(awk -v s="$SECS" -v w="$WARMUP" 'BEGIN { print (s - w) / 60 }')
POST_REQS=$(awk -F, -v w="$WARMUP" 'NR > 1 && $1 >= w { n += $2 } END { print n + 0 }' "$W/load/timeline.csv" 2>/dev/null)
FDS_PER_VM=$(awk -v f="$FD0" -v b="$FD_BEFORE" -v c="$CONNS" -v v="$VM0" 'BEGIN {
  if (v == "" || v == "nan" || v + 0 == 0) print "n/a"; else printf "%.1f", (f - b - c) / v }')
{
  printf '# Kernless soak test\n\n'
  printf '_This file is written by `make soak` (bench/soak.sh); do not edit it by hand. '
  printf 'Run: %s, commit `%s`, %s (%s cores); load average %s at the start, %s at the end._\n\n' \
    "$DATE" "$COMMIT" "$(cpu_model)" "$(nproc)" "$LOAD_AVG_START" "$LOAD_AVG_END"
  if [ "$VERDICT" = PASS ]; then
    printf '**Verdict: PASS.** %s requests in %s s, none unexpected; after the %s s warm-up RSS rose %s MB and open fds %s by the least-squares line (tolerances %s MB and %s).\n\n' \
      "$REQS" "$(f1 "$ELAPSED")" "$WARMUP" "$(mb "$RSS_RISE")" "$(f1 "$FD_RISE")" "$RSS_TOL_MB" "$FD_TOL"
  else
    printf '**Verdict: FAIL.**\n\n'
    sed 's/^/- /' "$W/failures"
    printf '\n'
  fi
  printf '## Setup\n\n'
  printf '`kernless serve %s` (the release binary; other flags at their defaults) with its own data folder; ' "${SERVE_FLAGS[*]}"
  printf 'the load is bench/soak/load.c (libcurl): %s keep-alive connections, one thread each, for %s s, ' "$CONNS" "$SECS"
  printf 'each request a weighted random pick of the kinds below, plus one `cold` request every %s s ' "$COLD_EVERY"
  printf '(its function is idle longer than `--idle-ms`, so each is a cold start and the reaper destroys a VM in between). '
  printf 'It starts by sending every other kind on all connections at once, kind after kind, twice, to size the pools (see Tolerances). '
  printf 'Server samples every %s s: VmRSS, VmHWM (from /proc/PID/status), open fds (/proc/PID/fd), threads, warm VMs (/metrics). ' "$SAMPLE"
  printf 'Both run on the same machine, which is shared with other jobs.\n\n'
  printf '| kind | module (bench/soak/) | deploy options | weight | expected status | expected cause |\n|---|---|---|---|---|---|\n'
  while IFS=$'\t' read -r k _ _ _ _ _ st cause _; do
    w=$(awk -v k="weight_$k" '$1 == k { print $2 }' "$W/load/summary.txt")
    [ "$k" = cold ] && w="every $COLD_EVERY s"
    m=${MODULE[$k]}.c
    [ "${MODULE[$k]}" = hello ] && m="examples/wagi-hello/hello.c"
    printf '| %s | %s | `%s` | %s | %s | %s |\n' "$k" "$m" "${DEPLOY_OPTS[$k]}" "$w" "$st" "$cause"
  done <"$W/load/kinds.tsv"
  printf '\nThe expected body is checked too: hello and cold the hello text; grow "grew %s MiB: %s pages, all zero" ' "$GROW_MB" "$((GROW_MB * 256))"
  printf '(it checks that every page of freshly grown memory reads zero, although a warm VM grew and wrote the same '
  printf 'addresses before); growmax "memory.grow refused" (64 MiB over its 16 MiB limit, answered with status 507 by the function); '
  printf 'bigbody every byte of a 512–1000 KiB random body echoed back.\n\n'

  printf '## Requests\n\n'
  printf '| kind | requests | req/s | p50 ms | p99 ms | max ms | unexpected | VMs created |\n|---|---|---|---|---|---|---|---|\n'
  while IFS=$'\t' read -r k n u p50 p99 pmax _; do
    vms=$(awk -v p="pool=\"$k@v" 'index($1, "kernless_vm_starts_total{" p) == 1 && $1 ~ /kind="cold"/ { n += $2 } END { print n + 0 }' "$W/metrics.txt")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" "$n" "$(awk -v n="$n" -v e="$ELAPSED" 'BEGIN { printf "%.1f", (e > 0 ? n / e : 0) }')" \
      "$p50" "$p99" "$pmax" "$([ "$u" != 0 ] && echo "**$u**" || echo 0)" "$vms"
  done <"$W/load/kinds.tsv"
  printf '| **all** | %s | %s | | | | %s | |\n\n' "$REQS" "$(awk -v n="$REQS" -v e="$ELAPSED" 'BEGIN { printf "%.1f", (e > 0 ? n / e : 0) }')" \
    "$([ "${UNEXP:-0}" != 0 ] && echo "**$UNEXP**" || echo 0)"
  printf 'Latency is the client'"'"'s, per request, including the connection (re)opened when the server closed one: '
  printf 'the load opened %s connections in all for %s connection threads. ' "${CONNECTS:-n/a}" "$CONNS"
  printf 'VMs created: the server'"'"'s cold starts for the function (/metrics `kernless_vm_starts_total`); every other request ran in a warm VM reset to its snapshot.\n\n'

  printf '## Answers by kind, status and cause\n\n'
  printf 'Cause: the X-Kernless-Error header mapped to the server'"'"'s cause name (`-`: no such header; `bad_body`: the expected status with a wrong body; `curl_N`: no answer, libcurl error N). '
  printf 'The server column is its own /metrics count for the function and status (for hello it includes the one request that checks the server before the load).\n\n'
  printf '| kind | status | cause | count | expected | server /metrics |\n|---|---|---|---|---|---|\n'
  while IFS=$'\t' read -r k st cause n exp; do
    srv=$(awk -v f="$k" -v c="$st" 'index($1, "kernless_requests_total{function=\"" f "\",code=\"" c "\"}") == 1 { print $2 }' "$W/metrics.txt")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$k" "$st" "$cause" "$n" "$([ "$exp" = yes ] && echo yes || echo '**no**')" "${srv:-n/a}"
  done <"$W/load/answers.tsv"
  printf '\n'
  if [ -s "$W/load/unexpected.log" ]; then
    printf 'First unexpected answers (of %s; all in bench/out/soak/load/unexpected.log):\n\n```\n' "$UNEXP"
    head -n 10 "$W/load/unexpected.log" | cut -c1-400
    printf '```\n\n'
  fi

  printf '## Server resources\n\n'
  printf '"Start" is the first sample after the %s s warm-up (t = %s s), "end" the last sample of the load; max and the least-squares slope are over the samples after the warm-up (%s samples); max (whole run) includes the warm-up. ' "$WARMUP" "$RT0" "$RN"
  printf '"Idle before" was taken before the load, "idle after" once the load stopped and the reaper had given every VM back (%s ms idle).\n\n' "$IDLE_MS"
  printf '| | idle before | start | end | max | max (whole run) | slope per minute | rise (fitted) | idle after | tolerance |\n|---|---|---|---|---|---|---|---|---|---|\n'
  printf '| RSS, MB | %s | %s | %s | %s | %s | %s | %s | %s | %s MB rise |\n' "$(mb "$(col_of "$BEFORE" 2)")" "$(mb "$RSS0")" "$(mb "$RSS1")" "$(mb "$RSSMAX")" "$(mb "$(maxall 2)")" \
    "$(f2 "$(awk -v s="$RSS_SLOPE" 'BEGIN { print s / 1024 }')")" "$(mb "$RSS_RISE")" "$(mb "$(col_of "$AFTER" 2)")" "$RSS_TOL_MB"
  printf '| VmHWM, MB | %s | %s | %s | %s | %s | | | %s | |\n' "$(mb "$(col_of "$BEFORE" 3)")" "$(mb "$HWM0")" "$(mb "$HWM1")" "$(mb "$HWMMAX")" "$(mb "$(maxall 3)")" "$(mb "$(col_of "$AFTER" 3)")"
  printf '| open fds | %s | %s | %s | %s | %s | %s | %s | %s | %s rise, and idle after within %s of idle before |\n' "$FD_BEFORE" "$FD0" "$FD1" "$FDMAX" "$(maxall 4)" \
    "$(f2 "$FD_SLOPE")" "$(f1 "$FD_RISE")" "$FD_AFTER" "$FD_TOL" "$FD_TOL"
  printf '| threads | %s | %s | %s | %s | %s | %s | %s | %s | (reported) |\n' "$(col_of "$BEFORE" 5)" "$TH0" "$TH1" "$THMAX" "$(maxall 5)" "$(f2 "$TH_SLOPE")" "$(f1 "$TH_RISE")" "$(col_of "$AFTER" 5)"
  printf '| warm VMs | %s | %s | %s | %s | %s | %s | %s | %s | (reported) |\n\n' "$(col_of "$BEFORE" 6)" "$VM0" "$VM1" "$VMMAX" "$(maxall 6)" "$(f2 "$VM_SLOPE")" "$(f1 "$VM_RISE")" "$(col_of "$AFTER" 6)"
  printf '![RSS, fds, threads, VMs and load over time](plots/soak.png)\n\n'
  printf '**Tolerances.** RSS follows the number of warm VMs, and a warm VM of the grow function keeps the %s MiB it grew, zeroed, for its next request. ' "$GROW_MB"
  printf 'So the load starts by sending every kind on all %s connections at once, twice, which brings each pool to the one VM per connection it can ever need ' "$CONNS"
  printf 'during the warm-up; after it the VM count is constant (the cold function'"'"'s one VM comes and goes) and RSS should be flat but for allocator noise. '
  printf 'The RSS line fitted after the warm-up may rise by %s MB: over the %s minutes after this run'"'"'s warm-up that is %s MB a minute, ' \
    "$RSS_TOL_MB" "$(f1 "$POST_MIN")" "$(f1 "$(awk -v t="$RSS_TOL_MB" -v m="$POST_MIN" 'BEGIN { print (m > 0 ? t / m : 0) }')")"
  printf 'a leak of %s bytes per request at this run'"'"'s %s requests after the warm-up. ' \
    "$(awk -v t="$RSS_TOL_MB" -v n="$POST_REQS" 'BEGIN { printf "%.0f", (n > 0 ? t * 1048576 / n : 0) }')" "$POST_REQS"
  printf 'A VM holds %s fds here ((fds at the start − fds idle before − connections) / warm VMs), so the fitted fd line may rise by %s, ' "$FDS_PER_VM" "$FD_TOL"
  printf 'and once the load has stopped and the VMs are given back the count must be back within %s of the count before the load; ' "$FD_TOL"
  printf 'an fd leaked per request or per error would add thousands. Threads and VMs are reported, not judged: the server keeps the vCPU helper threads it started '
  printf '(one per request that ever ran at once), and the kernel lists one kvm-nx-lpage-recovery task per VM among the process'"'"'s threads.\n'
} >"$REPORT"

blog "soak: $VERDICT: ${REQS:-?} requests, ${UNEXP:-?} unexpected; RSS $(mb "$RSS0") -> $(mb "$RSS1") MB (max $(mb "$RSSMAX"), fitted rise $(mb "$RSS_RISE") MB), fds $FD0 -> $FD1 (max $FDMAX); wrote $REPORT and $PLOT"
if [ "$VERDICT" != PASS ]; then
  sed 's/^/soak: FAIL: /' "$W/failures" >&2
  exit 1
fi
exit 0
