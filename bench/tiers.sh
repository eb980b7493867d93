#!/usr/bin/env bash
# tiers.sh - benchmark: tiered deploys: deploy to first answer per MB, time until the optimised tier serves, compute speed and compile peak memory per tier.
#
# Modules: gen3000 (bench/compile/genbig.c, about 1.6 MB of wasm; TIERS_GENS="3000 12000" adds
# a 6.5 MB one) and the Python engine's python.wasm (about 6.5 MB: the newest one in
# ~/.cache/kernless/engines whose imports this build accepts; TIERS_PY_WASM overrides).
# 1. A fresh `kernless serve` (tiering on, the default); for each module, the wall time from the
#    start of `kernless deploy` to the first answer of its route that is not the router's 404
#    (neither is a WAGI handler: gen answers 502 after running, python.wasm without its library
#    exits 1, also a 502), then until `info` says "optimised" (TIERS_WAIT_S caps it, default 900 s).
# 2. `kernless compile` per tier: wall time and peak memory (/usr/bin/time %M, the largest
#    resident set of kernless and the tools it waited for), one run each.
# 3. Compute: four bench/compute programs compiled on each tier, one run each against native.
set -u
. "$(dirname "$0")/lib.sh"

W=$OUT_DIR/tiers
rm -rf "$W"
mkdir -p "$W/bin" "$W/log" "$W/img" "$W/data"
# The newest cached engine this build accepts (caches shared between
# checkouts of other versions hold engines with imports this one lacks).
py_engine() {
  local f
  for f in $(ls -t "$HOME"/.cache/kernless/engines/python-*/python.wasm 2>/dev/null); do
    wasm-objdump -x -j Import "$f" 2>/dev/null | grep -- '<-' |
      grep -qv 'wasi_snapshot_preview1\.\|kernless\.ready' || { echo "$f"; return; }
  done
}
PY=${TIERS_PY_WASM:-$(py_engine)}
WAIT_S=${TIERS_WAIT_S:-900}
export XDG_CACHE_HOME=$W/cache   # nothing cached: every compile is real
R=$RESULTS_DIR/tiers-$BENCH_TAG.md

gcc -O2 "$ROOT/bench/compile/genbig.c" -o "$W/bin/genbig" || { blog "tiers: genbig does not build"; exit 1; }
GENS=(${TIERS_GENS:-3000})
DEPLOYS=()
for n in "${GENS[@]}"; do
  "$W/bin/genbig" "$n" >"$W/bin/gen$n.c" && wasm_cc "$W/bin/gen$n.c" "$W/bin/gen$n.wasm" ||
    { blog "tiers: gen$n does not build"; exit 1; }
  DEPLOYS+=("gen$n:$W/bin/gen$n.wasm")
done
if [ -n "$PY" ] && [ -f "$PY" ]; then DEPLOYS+=("python:$PY")
else blog "tiers: no python.wasm this build accepts (make engines builds it)"; fi
MODS=("${DEPLOYS[@]}")
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.2f", b / 1048576 }'; }

# ---- 1. deploy to first answer, and to the optimised tier ------------------------------
KERNLESS_OPTIMISE_TIMEOUT_S=$WAIT_S "$KL" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$W/data" \
  >"$W/log/serve.out" 2>"$W/log/serve.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 1 100); do grep -q ' serving ' "$W/log/serve.out" 2>/dev/null && break; sleep 0.1; done
line=$(grep -m1 ' serving ' "$W/log/serve.out")
PORT=$(printf '%s\n' "$line" | sed -n 's/.* on http:\/\/[^ ]*:\([0-9]*\), admin .*/\1/p')
APORT=$(printf '%s\n' "$line" | sed -n 's/.* dashboard on http:\/\/[^ ]*:\([0-9]*\) .*/\1/p')
export KERNLESS_URL=http://127.0.0.1:$APORT KERNLESS_TOKEN
KERNLESS_TOKEN=$(cat "$W/data/admin.token")
{
  echo "## tiers: deploy to first answer, and to the optimised tier ($BENCH_TAG backend)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, backend $BENCH_ISOLATION, one run each (bench/tiers.sh)."
  echo
  echo "| module | wasm MB | deploy to first answer | per MB | answer | until optimised serves | -O2 compile (optimiser) |"
  echo "|---|---|---|---|---|---|---|"
} >"$R"
for m in "${DEPLOYS[@]}"; do
  name=${m%%:*} file=${m#*:}
  t0=$EPOCHREALTIME
  "$KL" deploy "$name" "$file" --route "/$name" >"$W/log/$name.deploy" 2>&1 ||
    { blog "tiers: deploy $name failed: $(tail -c 300 "$W/log/$name.deploy")"; continue; }
  code=404
  while [ "$code" = 404 ]; do
    code=$(curl -s -o /dev/null --max-time 120 -w '%{http_code}' "http://127.0.0.1:$PORT/$name")
  done
  t1=$EPOCHREALTIME
  first=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  opt="not within ${WAIT_S} s" osec="-"
  end=$((SECONDS + WAIT_S))
  while [ $SECONDS -lt $end ]; do
    o=$("$KL" info "$name" --json 2>/dev/null)
    t=$(echo "$o" | jq -r .tier)
    if [ "$t" = optimised ]; then
      opt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }')
      osec=$(echo "$o" | jq -r '.optimise_seconds | . * 10 | round / 10 | tostring + " s"')
      break
    fi
    e=$(echo "$o" | jq -r '.optimise_error // empty')
    [ -n "$e" ] && { opt="failed: ${e:0:100}"; break; }
    sleep 1
  done
  per=$(awk -v s="$first" -v m="$(mb "$file")" 'BEGIN { printf "%.2f s", s / m }')
  echo "| $name | $(mb "$file") | $first s | $per | $code | $opt | $osec |" >>"$R"
  blog "tiers: $name: first answer $first s, optimised: $opt"
done
kill $SPID 2>/dev/null; wait $SPID 2>/dev/null

# ---- 2. compile time and peak memory per tier -----------------------------------------
{
  echo
  echo "### kernless compile per tier: wall time and peak memory"
  echo
  echo "| module | tier | compile | peak memory |"
  echo "|---|---|---|---|"
} >>"$R"
for m in "${MODS[@]}"; do
  name=${m%%:*} file=${m#*:}
  for tier in baseline optimised; do
    rm -rf "$XDG_CACHE_HOME"
    timed /dev/null "$W/log/$name.$tier.err" env KERNLESS_TIER=$tier /usr/bin/time -f %M \
      -o "$W/log/$name.$tier.mem" "$KL" compile "$file" -o "$W/img/$name.$tier.kimg"
    if [ "$T_RC" -eq 0 ]; then
      kb=$(tail -n 1 "$W/log/$name.$tier.mem")
      echo "| $name | $tier | $(printf '%.2f' "$T_SEC") s | $((kb / 1024)) MiB |" >>"$R"
    else
      echo "| $name | $tier | failed: $(head -c 100 "$W/log/$name.$tier.err" | tr '\n' ' ') | - |" >>"$R"
    fi
  done
done

# ---- 3. compute speed per tier against native ---------------------------------------
declare -A RUN_ARGS=([nbody]="2000000" [sha256]="16 3" [json]="12000 4" [btree]="200000")
{
  echo
  echo "### compute: run time per tier against native (gcc -O2), one run each"
  echo
  echo "| program | native | optimised | baseline | baseline / optimised |"
  echo "|---|---|---|---|---|"
} >>"$R"
for p in nbody sha256 json btree; do
  native_cc "$ROOT/bench/compute/$p.c" "$W/bin/$p" && wasm_cc "$ROOT/bench/compute/$p.c" "$W/bin/$p.wasm" || continue
  read -r -a args <<<"${RUN_ARGS[$p]}"
  timed "$W/log/$p.native" /dev/null "$W/bin/$p" "${args[@]}"; nat=$T_SEC
  row="| $p | $(printf '%.2f' "$nat") s"
  declare -A sec=()
  for tier in optimised baseline; do
    KERNLESS_TIER=$tier "$KL" compile "$W/bin/$p.wasm" -o "$W/img/$p.$tier.kimg" 2>/dev/null || continue
    timed "$W/log/$p.$tier" /dev/null "$KL" run --isolation "$BENCH_ISOLATION" "$W/img/$p.$tier.kimg" "${args[@]}"
    if [ "$T_RC" -eq 0 ] && cmp -s "$W/log/$p.$tier" "$W/log/$p.native"; then
      sec[$tier]=$T_SEC
      row+=" | $(printf '%.2f' "$T_SEC") s ($(awk -v a="$T_SEC" -v b="$nat" 'BEGIN { printf "%.1fx", a / b }') native)"
    else
      row+=" | wrong output"
    fi
  done
  if [ -n "${sec[optimised]:-}" ] && [ -n "${sec[baseline]:-}" ]; then
    row+=" | $(awk -v a="${sec[baseline]}" -v b="${sec[optimised]}" 'BEGIN { printf "%.1fx", a / b }') |"
  else
    row+=" | - |"
  fi
  echo "$row" >>"$R"
done
blog "tiers: results in $R"
cat "$R"
