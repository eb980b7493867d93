#!/usr/bin/env bash
# run.sh - tiered deploys: serve on the baseline tier at once, swap the optimised image in behind live traffic, survive a compile bomb.
#
# Usage: tests/tiers/run.sh BUILD. Once per backend (tests/lib.sh). Three
# servers per pass: A tiers as shipped (the swap, info, /metrics, a second
# deploy, a restart, bad input); B with KERNLESS_TIER=baseline, the control
# on which the swap checks must fail; C with tight optimiser limits and a
# module gcc cannot compile in them (the baseline keeps serving).
# Last line: "tiers: N passed, N failed, N skipped".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
kl_each_backend tiers
W=$(mktemp -d /tmp/kernless-tiers.XXXXXX)
HPID=
finish() {
  [ -n "$HPID" ] && kill $HPID 2>/dev/null
  kl_stop
  [ -n "${KL_KEEP_TMP:-}" ] || rm -rf "$W"
  kl_finish tiers
  exit $?
}
trap finish EXIT
C="curl -s --max-time 20"

# ---- modules ------------------------------------------------------------------
# gen_module.sh N: a WAGI function answering "module ok" whose dead-weight
# export takes gcc -O2 seconds (N=1000) or far longer than any limit (N=20000).
for n in 1000 20000; do
  bash tests/tiers/gen_module.sh $n >"$W/m$n.wat" && wat2wasm "$W/m$n.wat" -o "$W/m$n.wasm" ||
    { fail build_modules "wat2wasm m$n"; kl_end; exit 1; }
done
printf 'not wasm at all\n' >"$W/text.wasm"
# A module with a valid header and a function body that does not type-check.
printf '(module (func (export "_start") (i32.add (i32.const 1))))' >"$W/bad.wat"
wat2wasm --no-check "$W/bad.wat" -o "$W/bad.wasm" 2>/dev/null ||
  { fail build_modules "wat2wasm --no-check bad.wat"; kl_end; exit 1; }
pass build_modules

# serve DATA ERR [env...]: start a server on DATA; ERR collects its log.
serve() {
  local data=$1 err=$2; shift 2
  : >"$W/serve.out"
  env "$@" "$KL" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$data" \
    >"$W/serve.out" 2>>"$err" &
  SPID=$!
  PORT=
  for _ in $(seq 1 150); do
    kl_listen_ports "$(grep -m1 ' serving ' "$W/serve.out" 2>/dev/null)"
    [ -n "$PORT" ] && break
    sleep 0.1
  done
  KERNLESS_TOKEN=$(cat "$data/admin.token" 2>/dev/null)
  export KERNLESS_URL=http://127.0.0.1:$APORT KERNLESS_TOKEN
  U=http://127.0.0.1:$PORT
}
info() { "$KL" info "$1" --json 2>/dev/null; }
tier_of() { info "$1" | jq -r '.tier // "none"'; }
# swapped NAME: info says the optimised tier serves NAME and when it was swapped in.
swapped() { info "$1" | jq -e '.tier == "optimised" and (.tier_swapped_at | type) == "number"' >/dev/null; }
# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds; false after SECONDS.
wait_for() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done; }
# hammer URL OUT: request URL back to back, one "status body" line each, until OUT.stop exists.
hammer() {
  while [ ! -e "$2.stop" ]; do
    echo "$($C -w ' %{http_code}' "$1" | tr -d '\n')" >>"$2"
  done
}
metric() { $C -H "Authorization: Bearer $KERNLESS_TOKEN" "$KERNLESS_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# ---- A: the swap behind live traffic ----------------------------------------------
serve "$W/a" "$W/a.err"
[ -n "$PORT" ] || { fail server_a "no listening line: $(tail -c 300 "$W/a.err")"; kl_end; exit 1; }
out=$("$KL" deploy fn "$W/m1000.wasm" --route /fn --json 2>/dev/null)
check deploy_baseline_tier baseline "$(echo "$out" | jq -r .tier)"
sha=$(echo "$out" | jq -r .sha256 | cut -c1-12)
: >"$W/h"
# Three clients at once, so requests are in flight whenever the table swaps.
HPID=; for k in 1 2 3; do : >"$W/h$k"; hammer "$U/fn" "$W/h$k" & HPID="$HPID $!"; done
hcount() { cat "$W"/h[123] | wc -l; }
if wait_for 300 swapped fn; then
  at_swap=$(hcount)
  sleep 1.5; touch "$W"/h{1,2,3}.stop; wait $HPID; HPID=
  total=$(hcount)
  bad=$(cat "$W"/h[123] | grep -vc '^module ok 200$')
  check hammer_zero_non_200 "0 of $total" "$bad of $total"
  [ "$at_swap" -ge 1 ] && [ "$total" -gt "$at_swap" ] && pass "hammer_spans_the_swap ($at_swap before, $((total - at_swap)) after)" ||
    fail hammer_spans_the_swap "$at_swap answers before the swap was seen, $total in all"
  pass info_shows_swap
else
  touch "$W"/h{1,2,3}.stop; wait $HPID; HPID=
  fail info_shows_swap "tier is still $(tier_of fn) after 300 s: $(grep optimiser "$W/a.err" | tail -2)"
fi
# Control for hammer_zero_non_200: the same count on a route nobody serves.
: >"$W/hx"; hammer "$U/nope" "$W/hx" & HPID=$!; sleep 0.5; touch "$W/hx.stop"; wait $HPID; HPID=
[ "$(grep -vc '^module ok 200$' "$W/hx")" -gt 0 ] && pass control_hammer_counts_failures ||
  fail control_hammer_counts_failures "404s were not counted: $(head -c 200 "$W/hx")"
check_has info_text_tier "tier:       optimised (swapped in at" "$("$KL" info fn 2>&1)"
check_has ls_tier_column "optimised" "$("$KL" ls 2>&1 | awk '$1 == "fn"')"
check metrics_swaps 1 "$(metric kernless_tier_swaps_total)"
b=$($C -H "Authorization: Bearer $KERNLESS_TOKEN" "$KERNLESS_URL/metrics" |
    awk '$1 == "kernless_compile_seconds_total{tier=\"baseline\"}" {print ($2 > 0)}')
check metrics_baseline_compile_seconds 1 "$b"
check_has log_says_swapped "swapped in" "$(grep 'optimiser: module' "$W/a.err")"
# The optimised image is in the content-addressed cache: the same module
# deployed again starts on it, and so does a restart.
out=$("$KL" deploy fn2 "$W/m1000.wasm" --route /fn2 --json 2>/dev/null)
check second_deploy_optimised optimised "$(echo "$out" | jq -r .tier)"
out=$("$KL" deploy fn3 "$W/m1000.wasm" --route /fn3 --wait-optimised 2>&1); rc=$?
check wait_optimised_exit 0 "$rc"
# Bad input: the same 4xx as ever, and nothing built or queued for it.
imgs=$(ls "$W/a/images" | wc -l); opts=$(grep -c 'optimiser: compiling' "$W/a.err")
out=$("$KL" deploy text "$W/text.wasm" --route /text 2>&1)
check_has bad_input_text "rejected (HTTP 422): not a WebAssembly module" "$out"
out=$("$KL" deploy bad "$W/bad.wasm" --route /bad 2>&1)
check_has bad_input_invalid "rejected (HTTP 422): invalid module" "$out"
check bad_input_no_image "$imgs" "$(ls "$W/a/images" | wc -l)"
check bad_input_no_optimise "$opts" "$(grep -c 'optimiser: compiling' "$W/a.err")"
# Control for the two above: a good module does add an image.
"$KL" deploy ctl "$W/m20000.wasm" --route /ctl >/dev/null 2>&1
[ "$(ls "$W/a/images" | wc -l)" -gt "$imgs" ] && pass control_good_deploy_adds_image ||
  fail control_good_deploy_adds_image "images/ did not grow"
kl_stop
serve "$W/a" "$W/a2.err"
check restart_starts_optimised optimised "$(tier_of fn)"
check restart_no_recompile 0 "$(grep -c "optimiser: compiling module $sha" "$W/a2.err")"
# Control for the check above: the module served on the baseline (ctl) is
# queued again by the restart.
check_has restart_requeues_baseline "optimiser: compiling module" "$(grep -v "$sha" "$W/a2.err")"
check restart_answers "module ok 200" "$($C -w ' %{http_code}' "$U/fn" | tr -d '\n')"
kl_stop

# ---- B (control): no optimiser, so the swap checks above must fail ---------------
serve "$W/b" "$W/b.err" KERNLESS_TIER=baseline
"$KL" deploy fn "$W/m1000.wasm" --route /fn >/dev/null 2>&1
sleep 2
swapped fn && fail control_no_swap "swapped() says optimised with the optimiser off" || pass control_no_swap
check control_tier_baseline baseline "$(tier_of fn)"
out=$("$KL" deploy fn "$W/m1000.wasm" --route /fn --wait-optimised 2>&1); rc=$?
check_err control_wait_optimised_fails "$rc" "not optimised" "$out"
kl_stop

# ---- C: a compile bomb to the optimiser while the baseline serves ----------------------
serve "$W/c" "$W/c.err" KERNLESS_OPTIMISE_TIMEOUT_S=5 KERNLESS_OPTIMISE_MEM_MB=512
t0=$(date +%s%N)
out=$("$KL" deploy bomb "$W/m20000.wasm" --route /bomb --json 2>/dev/null)
check bomb_deploys_baseline baseline "$(echo "$out" | jq -r .tier)"
: >"$W/hb"; hammer "$U/bomb" "$W/hb" & HPID=$!
failed_opt() { info bomb | jq -e '.optimise_error | type == "string"' >/dev/null; }
if wait_for 120 failed_opt; then pass bomb_info_says_failed
else fail bomb_info_says_failed "no optimise_error after 120 s: $(info bomb | head -c 300)"; fi
sleep 1; touch "$W/hb.stop"; wait "$HPID"; HPID=
check bomb_baseline_keeps_serving "0 of $(wc -l <"$W/hb")" "$(grep -vc '^module ok 200$' "$W/hb") of $(wc -l <"$W/hb")"
check bomb_tier_baseline baseline "$(tier_of bomb)"
check_has bomb_log "the baseline tier keeps serving" "$(grep 'not optimised' "$W/c.err")"
check_has bomb_info_text "optimise failed:" "$("$KL" info bomb 2>&1)"
check bomb_metrics_failures 1 "$(metric kernless_tier_optimise_failures_total)"
kl_stop

# ---- D: the server stops while the optimiser compiles --------------------------------
# Bug: the optimiser's job ran on after SIGTERM closed the registry, and a
# job ending then reloaded the table through a NULL registry (an ASan report
# at shutdown). Now the stop cancels the job first: it kills the compiler,
# logs why, and the server exits 0 with no sanitizer report.
# Control: a binary without kl_optimiser_stop never logs the cancellation.
serve "$W/d" "$W/d.err" KERNLESS_OPTIMISE_TIMEOUT_S=600
"$KL" deploy slow "$W/m20000.wasm" --route /slow >/dev/null 2>&1
compiling() { grep -q 'optimiser: compiling module' "$W/d.err"; }
if wait_for 60 compiling; then
  kill -TERM "$SPID"; wait "$SPID"; rc=$?; SPID=
  check stop_during_optimise_exit 0 "$rc"
  check_has stop_during_optimise_cancelled "the server is stopping" "$(grep 'not optimised' "$W/d.err")"
  check stop_during_optimise_no_sanitizer_report "" "$(grep -E 'AddressSanitizer|runtime error' "$W/d.err" | head -2)"
else
  fail stop_during_optimise_exit "the optimiser never started: $(tail -3 "$W/d.err")"
fi
kl_stop
kl_end
