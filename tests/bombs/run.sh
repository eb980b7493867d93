#!/usr/bin/env bash
# run.sh - compile bombs: modules over each compile limit are refused at deploy; one that makes gcc run for minutes serves on the baseline tier while the optimiser gives up.
#
# Usage: tests/bombs/run.sh BUILD. Uses BUILD/san/kernless when present
# (KERNLESS_BIN overrides). Each bomb is generated here (WAT, or raw bytes
# for the oversized module) one past its limit, deployed to a real server,
# and must be refused with its HTTP status and a line naming the limit.
# After each refusal nothing new is in the data folder (images/, modules/,
# build/), no compiler is still running, and a good function still deploys
# and serves. Last line: "bombs: N passed, N failed".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
W=$BUILD/bombs-test
D=$W/data
rm -rf "$W"; mkdir -p "$W/m"
finish() {
  kl_stop
  kl_finish bombs
  exit $?
}
trap finish EXIT

# ---- the bombs --------------------------------------------------------------
START='(func (export "_start"))'
rep() { local i; for ((i = 0; i < $2; i++)); do printf '%s\n' "$1"; done; }
gen() {   # NAME: writes $W/m/NAME.wat
  case $1 in
    funcs)    { echo '(module'; rep '(func)' 250000; echo "$START)"; } ;;
    locals)   { echo '(module (func (local'; rep ' i32' 20001; echo "))$START)"; } ;;
    globals)  { echo '(module'; rep '(global i32 (i32.const 0))' 100001; echo "$START)"; } ;;
    elems)    { echo '(module (table 1 funcref) (func $f)'; rep '(elem (i32.const 0) func $f)' 10001; echo "$START)"; } ;;
    datas)    { echo '(module (memory 1)'; rep '(data (i32.const 0) "a")' 50001; echo "$START)"; } ;;
    table)    echo "(module (table 1000001 funcref) $START)" ;;
    # Within every count: one function of 20,000 small branches. It is
    # 450 KiB of wasm, and gcc -O2 spends well over ten minutes on the C.
    slow)     { echo '(module (memory 1) (func (export "_start") (local $x i32) (local $y i32)'
                for i in $(seq 1 20000); do
                  echo "(local.set \$x (i32.add (local.get \$x) (i32.load offset=$((i * 4 % 60000)) (local.get \$y))))(if (i32.eqz (local.get \$x)) (then (local.set \$y (i32.const $i))))"
                done; echo '))'; } ;;
  esac >"$W/m/$1.wat"
}
ok=1
for b in funcs locals globals elems datas table slow; do
  gen $b && wat2wasm "$W/m/$b.wat" -o "$W/m/$b.wasm" 2>>"$W/build.log" || ok=0
done
# 64 MiB + 1 of module: the header and one custom section whose payload is
# zeros (section size as a 4-byte LEB128).
big() {
  local n=$(( (64 << 20) + 1 - 8 - 1 - 4 )) payload
  payload=$(( n - 2 ))   # name length byte + 1-byte name
  printf '\0asm\1\0\0\0\0'
  printf "\\x$(printf %02x $(( (n & 127) | 128 )))\\x$(printf %02x $(( (n >> 7 & 127) | 128 )))"
  printf "\\x$(printf %02x $(( (n >> 14 & 127) | 128 )))\\x$(printf %02x $(( n >> 21 & 127 )))"
  printf '\1x'
  head -c "$payload" /dev/zero
}
big >"$W/m/size.wasm"
check "size_bomb_bytes" "$(( (64 << 20) + 1 ))" "$(stat -c %s "$W/m/size.wasm")"
cc_wasm() { clang --target=wasm32-wasi -O2 "$1" -o "$2" -Wl,--strip-debug 2>>"$W/build.log"; }
cc_wasm examples/wagi-hello/hello.c "$W/m/hello.wasm" || ok=0
if [ $ok -eq 1 ]; then pass "build_bombs"; else fail "build_bombs" "$(head -c 300 "$W/build.log")"; exit 1; fi

# ---- the server -------------------------------------------------------------
# --compile-timeout-s 20: far above a good module's compile (~1 s), far
# below the slow bomb's minutes. --max-upload-mb 128 lets the 64 MiB + 1
# module reach the compile limit instead of the upload limit.
kl_serve "$W/serve.out" "$W/serve.err" --data "$D" --compile-timeout-s 20 --max-upload-mb 128
if [ -z "$PORT" ]; then fail "server_start" "$(tail -c 300 "$W/serve.err")"; exit 1; fi
export KERNLESS_DATA=$D
# Optimised before the bombs, so no optimiser output lands in a bomb's "nothing new" window.
"$KL" deploy hello "$W/m/hello.wasm" --route /hello --wait-optimised >/dev/null 2>"$W/deploy.err" ||
  fail "deploy_hello" "$(cat "$W/deploy.err")"

state() { (cd "$D" && ls images modules build | md5sum); }
# bomb NAME STATUS REASON: refused with STATUS and REASON, nothing left over.
bomb() {
  local before out rc t0 t1
  before=$(state)
  t0=$(date +%s)
  out=$("$KL" deploy "b-$1" "$W/m/$1.wasm" --route "/b-$1" 2>&1); rc=$?
  t1=$(date +%s)
  check "$1.refused" "1" "$rc"
  check_has "$1.status" "rejected (HTTP $2)" "$out"
  check_has "$1.reason" "$3" "$out"
  check "$1.nothing_left" "$before" "$(state)"
  check "$1.no_compiler_left" "" "$(pgrep -f "$D/build" | tr '\n' ' ')"
  check "$1.others_serve" "Hello from Kernless!" "$(curl -s --max-time 20 "$U/hello")"
  echo "     $1: refused in $((t1 - t0)) s"
}
bomb funcs 413 "module has 250001 functions, over the limit of 250000"
bomb locals 413 "module has 20001 locals in one function, over the limit of 20000"
bomb globals 413 "module has 100001 globals, over the limit of 100000"
bomb elems 413 "module has 10001 element segments, over the limit of 10000"
bomb datas 413 "module has 50001 data segments, over the limit of 50000"
bomb table 413 "module has 1000001 table entries, over the limit of 1000000"
bomb size 413 "module is 67108865 bytes, over the 67108864 byte limit"
# The slow bomb is within every count, so a tiered deploy takes it on the
# baseline tier (tcc: under a second) and the background optimiser's gcc
# hits the compile time limit: the baseline keeps serving, info says why.
before=$(state)
out=$("$KL" deploy b-slow "$W/m/slow.wasm" --route /b-slow --json 2>/dev/null)
check "slow.deployed_baseline" "baseline" "$(echo "$out" | jq -r .tier)"
why=""
for _ in $(seq 1 300); do
  why=$("$KL" info b-slow --json 2>/dev/null | jq -r '.optimise_error // empty')
  [ -n "$why" ] && break
  sleep 0.2
done
check_has "slow.optimise_refused" "over the compile time limit: " "$why"
check "slow.still_baseline" "baseline" "$("$KL" info b-slow --json 2>/dev/null | jq -r .tier)"
check "slow.no_compiler_left" "" "$(pgrep -f "$D/build" | tr '\n' ' ')"
check "slow.others_serve" "Hello from Kernless!" "$(curl -s --max-time 20 "$U/hello")"
"$KL" rm b-slow >/dev/null 2>&1

# After a refused compile the compile lock is free: a good module deploys.
if "$KL" deploy hello2 "$W/m/hello.wasm" --route /hello2 >/dev/null 2>"$W/deploy.err"; then
  pass "deploy_after_bombs"
else
  fail "deploy_after_bombs" "$(cat "$W/deploy.err")"
fi
check "hello2_serves" "Hello from Kernless!" "$(curl -s --max-time 20 "$U/hello2")"
check "bombs_not_listed" "" "$("$KL" ls 2>&1 | grep '^b-')"
check "server_alive" "200" "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")"

# With tiering off (KERNLESS_TIER=optimised) a deploy compiles -O2 itself:
# the slow bomb is refused at the compile time limit, as before tiers.
kl_stop
KERNLESS_TIER=optimised kl_serve "$W/serve2.out" "$W/serve2.err" --data "$D" --compile-timeout-s 20
if [ -z "$PORT" ]; then fail "server2_start" "$(tail -c 300 "$W/serve2.err")"; exit 1; fi
bomb slow 422 "over the compile time limit: "

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
