#!/usr/bin/env bash
# zero.sh - benchmark: the first request after scale to zero, end to end, for the C, JS and Python hello, with and without a ready VM.
#
# Two `kernless serve` of this build side by side, `--idle-ms 300`: the default keeps one ready
# VM per function at zero (built fresh from its image, never used), `--ready-ms 0` keeps nothing,
# so its first request builds the VM (and, for Python/JS, runs the engine's start-up). Both
# serve KERNLESS_TIER=baseline, so no background -O2 build competes with the samples or swaps an
# image in while a function is at zero. Each sample: ZERO_IDLE_S idle (past --idle-ms and the
# reaper's tick, and long enough for the ready VM to be built), then one curl `time_total`
# over loopback per server, order alternating. Bodies are checked.
set -u
. "$(dirname "$0")/lib.sh"
W=$OUT_DIR/zero
rm -rf "$W"
mkdir -p "$W/fn"
export KERNLESS_ENGINES=${KERNLESS_ENGINES:-$BUILD/engines}   # the benchmark runs a copy of the binary
N=${ZERO_N:-$([ "${QUICK:-0}" = 1 ] && echo 4 || echo 10)}
IDLE=${ZERO_IDLE_S:-1.5}
FNS=(c js python)
HELLO_BODY="Hello from Kernless!"   # what examples/wagi-hello and the two scripts answer
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT

wasm_cc "$ROOT/examples/wagi-hello/hello.c" "$W/fn/hello.wasm" || { blog "zero: the C hello does not build"; exit 1; }
printf 'function handle(request) {\n  return "%s\\n";\n}\n' "$HELLO_BODY" >"$W/fn/hello.js"
printf 'def handle(request):\n    return "%s\\n"\n' "$HELLO_BODY" >"$W/fn/hello.py"
declare -A SRC=([c]=$W/fn/hello.wasm [js]=$W/fn/hello.js [python]=$W/fn/hello.py)
declare -A PORT

# serve V READY_MS: start server V, deploy the three functions, warm each once.
serve() {
  local v=$1 ready=$2 line aport f i
  KERNLESS_TIER=baseline "$KL" serve --isolation "$BENCH_ISOLATION" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --data "$W/$v" --idle-ms 300 --ready-ms "$ready" \
    >"$W/$v.out" 2>"$W/$v.err" &
  PIDS+=($!)
  for i in $(seq 1 100); do
    line=$(grep -m1 ' serving ' "$W/$v.out" 2>/dev/null) && break
    sleep 0.1
  done
  PORT[$v]=$(printf '%s\n' "$line" | grep -o 'http://127.0.0.1:[0-9]*' | sed -n '1s/.*://p')
  aport=$(printf '%s\n' "$line" | grep -o 'http://127.0.0.1:[0-9]*' | sed -n '2s/.*://p')
  [ -n "$aport" ] || { blog "zero: server $v did not start: $(tail -c 200 "$W/$v.err")"; return 1; }
  for f in "${FNS[@]}"; do
    KERNLESS_DATA=$W/$v KERNLESS_URL=http://127.0.0.1:$aport "$KL" deploy "$f" "${SRC[$f]}" \
      --route "/$f" >"$W/$v-deploy-$f.out" 2>&1 || { blog "zero: deploy $f failed: $(tail -c 200 "$W/$v-deploy-$f.out")"; return 1; }
    curl -s -o /dev/null "http://127.0.0.1:${PORT[$v]}/$f"
  done
}
serve ready 600000 && serve none 0 || exit 1

# sample V F: one request after IDLE seconds, its time in ms appended to W/V-F; a wrong body is an error.
sample() {
  local out
  out=$(curl -s -w '\n%{time_total}' "http://127.0.0.1:${PORT[$1]}/$2")
  if [ "$(printf '%s\n' "$out" | head -n -1)" != "$HELLO_BODY" ]; then
    echo "$1 $2: $(printf '%s' "$out" | head -c 100)" >>"$W/errors"; return
  fi
  printf '%s\n' "$out" | tail -1 | awk '{ printf "%.3f\n", $1 * 1000 }' >>"$W/$1-$2"
}
: >"$W/errors"
for ((i = 1; i <= N; i++)); do
  sleep "$IDLE"
  for f in "${FNS[@]}"; do
    if [ $((i % 2)) = 1 ]; then sample ready "$f"; sample none "$f"; else sample none "$f"; sample ready "$f"; fi
  done
done
blog "zero: $N samples per function and server; errors: $(wc -l <"$W/errors")"

R=$RESULTS_DIR/zero-$BENCH_TAG.md
{
  printf '## zero: first request after scale to zero, end to end (%s)\n\n' "$BENCH_TITLE"
  section_provenance
  printf 'Two `kernless serve` side by side, `--idle-ms 300`, both `KERNLESS_TIER=baseline` (no background -O2 build). '
  printf 'The default keeps one ready VM per function at zero (built fresh from its image, never used); `--ready-ms 0` builds the VM at the first request '
  printf '(for Python/JS that includes the engine start-up and the script'"'"'s top level). %s samples per function, each after %s s idle; '  "$N" "$IDLE"
  printf 'curl `time_total` over loopback in ms, median (min–max). Bodies checked; errors: %s.\n\n' "$(wc -l <"$W/errors")"
  printf '| function | with a ready VM (default) | `--ready-ms 0` | goal |\n|---|---|---|---|\n'
  declare -A GOAL=([c]=1 [js]=3 [python]=10)
  for f in "${FNS[@]}"; do
    cell() { [ -s "$W/$1-$f" ] && stats "$W/$1-$f" | awk '{ printf "%.2f (%.2f–%.2f)", $2, $3, $4 }' || echo n/a; }
    met=$([ -s "$W/ready-$f" ] && awk -v m="$(median "$W/ready-$f")" -v g="${GOAL[$f]}" 'BEGIN { print (m <= g ? "met" : "**not met**") }' || echo "not measured")
    printf '| %s hello | %s | %s | ≤ %s ms: %s |\n' "$f" "$(cell ready)" "$(cell none)" "${GOAL[$f]}" "$met"
  done
  printf '\n'
} >"$R"
blog "zero: wrote $R"
