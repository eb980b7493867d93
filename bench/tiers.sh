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
  echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg). CPU s: the server's CPU time and its reaped compilers', from the deploy's start to the first answer (the wall time grows with the machine's load, this does not). Goal (issue 23): first answer within max(2 s, 1 s per MB)."
  echo
  echo "| module | wasm MB | deploy to first answer | per MB | goal | CPU s | answer | until optimised serves | -O2 compile (optimiser) |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$R"
STAGES=$W/stages.md
{
  echo
  echo "### where the deploy's time goes (ms, from the server's progress events)"
  echo
  echo "upload: the module arrived, to the compile's start (config, route, hash); check: parse and limits; validate: wasm-validate (wasm2c runs alongside); translate: the rest of wasm2c, patch and split the C; cc: tcc on the parts, in parallel; link: ld, image written; load, commit: the new version served."
  echo
  echo "| module | upload | check | validate | translate | cc | link | load + commit |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$STAGES"
# cpu_s PID: the process's CPU seconds and its reaped children's.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / t }' "/proc/$1/stat"; }
# stage_ms EVENTS STAGE: the ms of that progress event (empty if none).
stage_ms() { jq -r --arg s "$2" 'select(.stage == $s) | .ms' "$1" | head -n 1; }
for m in "${DEPLOYS[@]}"; do
  name=${m%%:*} file=${m#*:}
  c0=$(cpu_s $SPID)
  t0=$EPOCHREALTIME
  # The deploy API as `kernless deploy` calls it, keeping its progress events.
  ev=$W/log/$name.events
  curl -s -N -H "Authorization: Bearer $KERNLESS_TOKEN" -F "config={\"route\":\"/$name\"};type=application/json" \
    -F "module=@$file" "$KERNLESS_URL/v1/functions/$name/deploy?progress=1" >"$ev"
  tail -n 1 "$ev" | jq -e '.ok == true or .result.ok == true' >/dev/null 2>&1 ||
    { blog "tiers: deploy $name failed: $(tail -c 300 "$ev")"; continue; }
  code=404
  while [ "$code" = 404 ]; do
    code=$(curl -s -o /dev/null --max-time 120 -w '%{http_code}' "http://127.0.0.1:$PORT/$name")
  done
  t1=$EPOCHREALTIME
  cpu=$(awk -v a="$c0" -v b="$(cpu_s $SPID)" 'BEGIN { printf "%.2f", b - a }')
  first=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  goal=$(awk -v s="$first" -v m="$(mb "$file")" 'BEGIN { g = m > 2 ? m : 2; printf "%s (%.1f s)", s <= g ? "met" : "not met", g }')
  declare -A at=()
  for st in upload compile check validate wasm2c cc link load commit; do at[$st]=$(stage_ms "$ev" "$st"); done
  at[done]=$(tail -n 1 "$ev" | jq -r '.ms // empty')
  d() { [ -n "${at[$1]}" ] && [ -n "${at[$2]}" ] && echo $((at[$2] - at[$1])) || echo -; }
  echo "| $name | $(d upload compile) | $(d compile validate) | $(d validate wasm2c) | $(d wasm2c cc) | $(d cc link) | $(d link load) | $(d load done) |" >>"$STAGES"
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
  echo "| $name | $(mb "$file") | $first s | $per | $goal | $cpu | $code | $opt | $osec |" >>"$R"
  blog "tiers: $name: first answer $first s, optimised: $opt"
done
kill $SPID 2>/dev/null; wait $SPID 2>/dev/null
cat "$STAGES" >>"$R"

# ---- 2. compile time and peak memory per tier -----------------------------------------
{
  echo
  echo "### kernless compile per tier: wall time and peak memory"
  echo
  echo "| module | tier | compile | CPU s | peak memory |"
  echo "|---|---|---|---|---|"
} >>"$R"
PYMEM=""
for m in "${MODS[@]}"; do
  name=${m%%:*} file=${m#*:}
  for tier in baseline optimised; do
    rm -rf "$XDG_CACHE_HOME"
    timed /dev/null "$W/log/$name.$tier.err" env KERNLESS_TIER=$tier /usr/bin/time -f '%M %U %S' \
      -o "$W/log/$name.$tier.mem" "$KL" compile "$file" -o "$W/img/$name.$tier.kimg"
    if [ "$T_RC" -eq 0 ]; then
      read -r kb us ss < <(tail -n 1 "$W/log/$name.$tier.mem")
      cs=$(awk -v u="$us" -v s="$ss" 'BEGIN { printf "%.2f", u + s }')
      echo "| $name | $tier | $(printf '%.2f' "$T_SEC") s | $cs | $((kb / 1024)) MiB |" >>"$R"
      [ "$name/$tier" = python/optimised ] && PYMEM=$((kb / 1024))
    else
      echo "| $name | $tier | failed: $(head -c 100 "$W/log/$name.$tier.err" | tr '\n' ' ') | - | - |" >>"$R"
    fi
  done
done

{
  echo
  echo "Peak memory: the largest resident set of kernless and of each compiler it waited for (parallel parts each count alone). CPU s: user + system, compilers included."
  if [ -n "$PYMEM" ]; then
    echo "Goal (issue 23): the Python engine's optimised build within 1 GB: $([ "$PYMEM" -le 1024 ] && echo met || echo "not met") ($PYMEM MiB)."
  fi
} >>"$R"

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
{
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} >>"$R"
blog "tiers: results in $R"
cat "$R"
