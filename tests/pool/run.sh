#!/usr/bin/env bash
# run.sh - per-request isolation suite: warm VMs from a snapshot never leak state, grown memory goes away, pools scale to zero and queue.
#
# Usage: tests/pool/run.sh BUILD. Drives a real `kernless serve` on a loopback
# port with curl. Prints one line per check and, last, "pool: N passed, N failed".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
ROOT=$PWD
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KL=$BUILD/kernless   # optimized build: 1,000s of requests; the server suite covers ASan
W=$BUILD/pool-test
rm -rf "$W"; mkdir -p "$W/fn"
passed=0; failed=0; SPID=
pass() { echo "PASS $1"; passed=$((passed+1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed+1)); }
finish() {
  [ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
  echo "pool: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]; exit $?
}
trap finish EXIT

[ -x "$KL" ] || { fail binary "no $KL"; exit 1; }
for f in counter secret grow slow flood; do
  clang --target=wasm32-wasi -O2 "tests/pool/fn/$f.c" -o "$W/fn/$f.wasm" -Wl,--strip-debug \
    2>>"$W/build.log" || { fail "build_$f" "$(head -c 300 "$W/build.log")"; exit 1; }
done
pass build_functions

export KERNLESS_DATA=$W/data
unset KERNLESS_TOKEN
"$KL" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$W/data" --idle-ms 400 \
  --max-per-fn 2 --queue 3 >"$W/serve.out" 2>"$W/serve.err" &
SPID=$!
for _ in $(seq 1 100); do
  kl_listen_ports "$(grep -m1 ' serving ' "$W/serve.out" 2>/dev/null)"
  [ -n "$PORT" ] && break; sleep 0.1
done
[ -n "${PORT:-}" ] || { fail serve "server did not start: $(head -c 300 "$W/serve.err")"; exit 1; }
export KERNLESS_URL=http://127.0.0.1:$APORT
U=http://127.0.0.1:$PORT
ADMIN=$KERNLESS_URL
TOKEN=$(cat "$W/data/admin.token")
metrics() { curl -s -H "Authorization: Bearer $TOKEN" "$ADMIN/metrics"; }
for f in counter secret grow slow; do
  "$KL" deploy $f "$W/fn/$f.wasm" --route /$f --timeout-ms 3000 >"$W/deploy-$f.log" 2>&1 \
    || { fail "deploy_$f" "$(tail -c 300 "$W/deploy-$f.log")"; exit 1; }
done
"$KL" deploy flood "$W/fn/flood.wasm" --route /flood --max-response-kb 16 >"$W/deploy-flood.log" 2>&1 \
  || { fail deploy_flood "$(tail -c 300 "$W/deploy-flood.log")"; exit 1; }
"$KL" deploy small "$W/fn/counter.wasm" --route /small --max-body-kb 1 >"$W/deploy-small.log" 2>&1 \
  || { fail deploy_small "$(tail -c 300 "$W/deploy-small.log")"; exit 1; }
pass deploy

# Per-function limits, each with its own status and X-Kernless-Error.
h=$(curl -s -o /dev/null -D - "$U/flood" | tr -d '\r')
case "$h" in *" 502 "*"X-Kernless-Error: output limit"*) pass response_limit ;; *) fail response_limit "$(echo "$h" | head -3)" ;; esac
h=$(head -c 2048 /dev/zero | curl -s -o /dev/null -D - --data-binary @- "$U/small" | tr -d '\r')
case "$h" in *" 413 "*"X-Kernless-Error: request body"*"1 KiB"*) pass body_limit ;; *) fail body_limit "$(echo "$h" | head -3)" ;; esac
[ "$(head -c 512 /dev/zero | curl -s --data-binary @- "$U/small")" = "1" ] && pass body_under_limit || fail body_under_limit "512 bytes refused"

# Isolation: 1,000 sequential requests, then 1,000 from 4 concurrent clients,
# each answers 1. Four in flight always fit this server's 2 VMs + 3 queue
# places, so a 503 here would be a real fault, not load.
seq_out=$(for i in $(seq 1 1000); do echo "url = \"$U/counter\""; done | curl -s -K - | sort | uniq -c | tr -s ' ')
[ "$seq_out" = " 1000 1" ] && pass isolation_sequential || fail isolation_sequential "got '$seq_out'"
conc_out=$(seq 1 1000 | xargs -P 4 -n 250 sh -c 'for _ in "$@"; do curl -s "'"$U"'/counter"; done' _ | sort | uniq -c | tr -s ' ')
[ "$conc_out" = " 1000 1" ] && pass isolation_concurrent || fail isolation_concurrent "got '$conc_out'"

# No leaks: each call scans all memory for the secret the previous call planted
# in its data segment, stack, heap and freshly grown memory.
prev=00000000000000000000000000000000; leaks=0; bad=0
for i in $(seq 1 50); do
  r=$(curl -s "$U/secret?prev=$prev")
  case "$r" in found=0\ next=*) ;; found=*) leaks=$((leaks+1)) ;; *) bad=$((bad+1)) ;; esac
  prev=$(echo "$r" | sed -n 's/.*next=\([0-9a-f]*\).*/\1/p')
  [ ${#prev} -eq 32 ] || { bad=$((bad+1)); prev=00000000000000000000000000000000; }
done
[ $leaks -eq 0 ] && [ $bad -eq 0 ] && pass no_leaks || fail no_leaks "$leaks leaks, $bad bad answers"
# The check can fail: within one request the scanner does find a planted copy.
selfcheck=$(curl -s "$U/secret?prev=$prev" | cut -d' ' -f1)
[ "$selfcheck" = "found=0" ] && pass no_leaks_last || fail no_leaks_last "got $selfcheck"

# Out of bounds after growth: grow in one request, probe past the snapshot in the next.
ok=1
for i in 1 2 3 4 5; do
  g=$(curl -s "$U/grow?grow"); case "$g" in grew*) ;; *) ok=0 ;; esac
  h=$(curl -s -o /dev/null -D - "$U/grow?probe" | tr -d '\r')
  case "$h" in *"500"*"trap: out of bounds memory access"*) ;; *) ok=0; echo "  got: $h" | head -5 ;; esac
done
[ $ok -eq 1 ] && pass oob_after_growth || fail oob_after_growth "a probe after growth did not trap"

# Scale to zero: after the idle time no pool holds a VM, and the next request works.
sleep 1.5
vms=$(metrics | awk '/^kernless_vms_total/ {print $2}')
[ "$vms" = "0" ] && pass scale_to_zero || fail scale_to_zero "kernless_vms_total=$vms"
[ "$(curl -s "$U/counter")" = "1" ] && pass after_zero || fail after_zero "no answer after scale to zero"
cold=$(metrics | grep 'kernless_vm_starts_total{pool="counter@v1",kind="cold"}' | awk '{print $2}')
[ "${cold:-0}" -ge 2 ] && pass cold_start_counted || fail cold_start_counted "cold=$cold"

# Queueing: 2 VMs and 3 queue places for /slow; 10 at once: each gets exactly
# one response, 200 or 503 with Retry-After, and at least one of each.
pids=
for i in $(seq 1 10); do
  curl -s -o "$W/q$i.body" -D "$W/q$i.hdr" -m 20 "$U/slow" &
  pids="$pids $!"
done
wait $pids   # only the clients: a bare `wait` would wait for the server too
n200=0; n503=0; other=0
for i in $(seq 1 10); do
  code=$(head -1 "$W/q$i.hdr" 2>/dev/null | awk '{print $2}')
  case "$code" in
    200) grep -q slept "$W/q$i.body" && n200=$((n200+1)) || other=$((other+1)) ;;
    503) grep -qi '^Retry-After:' "$W/q$i.hdr" && n503=$((n503+1)) || other=$((other+1)) ;;
    *) other=$((other+1)) ;;
  esac
done
[ $((n200+n503)) -eq 10 ] && [ $other -eq 0 ] && [ $n200 -ge 2 ] && [ $n503 -ge 1 ] \
  && pass queue_bounded || fail queue_bounded "200=$n200 503=$n503 other=$other"
metrics | grep -q 'kernless_queue_rejected_total{reason="full"} [1-9]' \
  && pass queue_metrics || fail queue_metrics "no rejected count in /metrics"
metrics | grep -q '^kernless_reset_seconds_count [1-9]' && pass reset_histogram || fail reset_histogram "empty"
