#!/usr/bin/env bash
# inner.sh - the runs of the KVM suite, on a machine with /dev/kvm (natively, or inside scripts/kvm-vm.sh).
#
# Usage: tests/kvm/inner.sh PROGS WORK, from tests/kvm/run.sh, which compiled
# every image into PROGS, deployed the server's functions to WORK/hostdata
# and ran the spec files on the host. Nothing is compiled here. Every run uses
# --isolation kvm and KERNLESS_BIN (the plain build). Last line:
# "kvm-inner: N passed, N failed".
set -u
P=$1 W=$2
cd "$(dirname "$0")/../.."
BUILD=$(dirname "${KERNLESS_BIN:?}")
. tests/lib.sh
T=$(mktemp -d /tmp/kvm-inner.XXXXXX)
finish() {
  [ -n "${WD:-}" ] && { echo >"$T/wd"; wait "$WD" 2>/dev/null; }
  kl_stop
  rm -rf "$T"
  kl_finish kvm-inner
  exit $?
}
trap finish EXIT
unset KERNLESS_TOKEN KERNLESS_ISOLATION
export XDG_CACHE_HOME=$T/cache   # nothing should be compiled: a .kimg needs no cache

# mark NAME: how long the section that just ended took (the suite has a time budget).
T_MARK=$(date +%s%N)
mark() { local now; now=$(date +%s%N); echo "TIME $1: $(( (now - T_MARK) / 1000000 )) ms"; T_MARK=$now; }

# Watchdog: a run that hangs (a vCPU that never comes back) would otherwise
# only show as the machine's timeout; after KVM_TEST_WATCHDOG s, say what runs.
mkfifo "$T/wd"
( if ! IFS= read -r -t "${KVM_TEST_WATCHDOG:-240}" _ <>"$T/wd"; then
    echo "WATCHDOG: still running after ${KVM_TEST_WATCHDOG:-240} s:"
    ps -eo pid,stat,wchan:32,etimes,args | grep -E 'kernless|curl|timeout' | grep -v grep
    for p in $(pgrep -f "$KL"); do echo "-- $p: $(tr '\n' '|' </proc/$p/stack 2>/dev/null)"; done
  fi ) &
WD=$!

# KVM_NATIVE_COVERED=1 (run.sh, natively where kl_backends has kvm): the
# sections that the VM-dependent suites' kvm passes already run natively
# (run, traps, memory, server, spec) are left to them; what only this suite
# checks (timing, big stdin, clocks, --repeat's warm reset, the escape image)
# runs here. Inside the emulated machine (no /dev/kvm on the host) all of it
# runs: it is then the only KVM coverage.
covered_natively() { [ "${KVM_NATIVE_COVERED:-0}" = 1 ]; }

if [ ! -w /dev/kvm ]; then fail "dev_kvm" "no writable /dev/kvm here"; exit 1; fi
pass "dev_kvm"

# ---- kernless run ------------------------------------------------------------------------
# kr NAME WANT_RC WANT_STDOUT [kernless run args...]: one run (under
# emulation each costs ~1 s, mostly loading kernless itself). With
# KVM_TEST_JOBS=2 runs go in the background, 2 at a time, and kr_wait
# collects their results in order (on a loaded 2-core host that gains
# little, so the default is one at a time). WANT_STDOUT is a printf %b string; stdin from $STDIN
# (default /dev/null). ERR_HAS, when set, must be in stderr; otherwise stderr
# must be empty. NO_ESCAPE=1: stdout must not hold ESCAPED, stderr exactly one
# kernless: line and the status any failure (WANT_RC nz).
mkdir -p "$T/k"
KR_N=0 KR_JOBS=()
kr_one() {
  local name=$1 rc=$2 out=$3 want got gout= gerr= nl why= f=$T/k/$KR_N; shift 3
  timeout -s KILL 60 "$KL" run --isolation kvm "$@" <"${STDIN:-/dev/null}" >"$f.out" 2>"$f.err"
  got=$?
  # Checked with bash alone: under emulation every extra process costs ~0.1 s.
  IFS= read -r -d '' gout <"$f.out"; IFS= read -r -d '' gerr <"$f.err"
  if [ "$rc" = nz ]; then
    case $got in 0|98|99) why="exit $got, want a failure" ;; esac
  else
    [ "$got" = "$rc" ] || why="exit $got, want $rc"
  fi
  if [ "${NO_ESCAPE:-0}" = 1 ]; then
    [[ $gout == *ESCAPED* ]] && why="$why; the guest says ESCAPED: ${gout:0:200}"
    nl=${gerr//[!$'\n']/}
    [ ${#nl} = 1 ] && [[ $gerr == "kernless: "*$'\n' ]] || why="$why; want one kernless: line on stderr"
  else
    printf -v want "%b" "$out"
    [ "$gout" == "$want" ] || why="$why; stdout '${gout:0:200}'"
    if [ -n "${ERR_HAS:-}" ]; then
      [[ $gerr == *"$ERR_HAS"* ]] || why="$why; stderr lacks '$ERR_HAS'"
    elif [ -n "$gerr" ]; then why="$why; stderr not empty"; fi
  fi
  if [ -z "$why" ]; then echo "PASS $name"
  else echo "FAIL $name: ${why#; }; stderr: ${gerr:0:200}"; fi
}
KR_MAX=${KVM_TEST_JOBS:-1}
kr() {
  if [ "$KR_MAX" -le 1 ]; then   # one at a time: each result shows as it comes
    kr_one "$@" >"$T/k/$(printf %04d $KR_N).res"
    KR_N=$((KR_N + 1))
    kr_wait
    return
  fi
  while [ ${#KR_JOBS[@]} -ge "$KR_MAX" ]; do
    wait "${KR_JOBS[0]}"; KR_JOBS=("${KR_JOBS[@]:1}")
  done
  kr_one "$@" >"$T/k/$(printf %04d $KR_N).res" &
  KR_JOBS+=($!)
  KR_N=$((KR_N + 1))
}
kr_wait() {
  local f l p
  for p in "${KR_JOBS[@]}"; do wait "$p"; done
  KR_JOBS=()
  for f in "$T"/k/*.res; do
    [ -e "$f" ] || continue
    l=$(<"$f")
    case $l in
      PASS\ *) pass "${l#PASS }" ;;
      FAIL\ *) l=${l#FAIL }; fail "${l%%: *}" "${l#*: }" ;;
      *) fail "$(basename "$f")" "no result: $l" ;;
    esac
    rm -f "$f"
  done
}

if ! covered_natively; then
kr hello 0 'hello, world\n' "$P/hello.kimg"
ERR_HAS="isolation: kvm" kr hello_says_kvm 0 'hello, world\n' -v "$P/hello.kimg"
kr args 0 'argc=8\n[a]\n[b c]\n[]\n[ünï]\n[-v]\n[--timeout-ms]\n[5]\n' "$P/args.kimg" a "b c" "" "ünï" -v --timeout-ms 5
LEAKME=1 kr env 0 'A=1\nB=two words\nC=x=y\ngetenv(A)=1\ncount=3\n' \
  --env A=1 --env "B=two words" --env C=x=y "$P/env.kimg"
LEAKME=1 kr env_none 0 'getenv(A)=(null)\ncount=0\n' "$P/env.kimg"
for c in 0 1 42; do kr "exit_$c" "$c" "exiting with $c\n" "$P/exit.kimg" "$c"; done
kr exit_42_return 42 'exiting with 42\n' "$P/exit.kimg" 42 ret
ERR_HAS='err 1' kr stdio_separate 0 'out 1\nout 2\nout 3 (buffered, no newline)' "$P/stdio.kimg"
ERR_HAS='cat: 0 bytes' kr stdin_empty 0 '' "$P/cat.kimg"
printf 'line one\nline two\n' >"$T/in.txt"
STDIN=$T/in.txt ERR_HAS='cat: 18 bytes' kr stdin_text 0 'line one\nline two\n' "$P/cat.kimg"

# ---- traps, every kind -------------------------------------------------------------------
trap_test() { # MODE WHAT [EXTRA_STDOUT]
  ERR_HAS="trap: $2" kr "trap_$1" 134 "before\n${3:-}" "$P/traps.kimg" "$1"
}
# One list of trap kinds for this suite and tests/kvm (every line must be used).
ntraps=0
while IFS='|' read -r -u 3 mode name extra; do
  case $mode in ''|'#'*) continue ;; esac
  trap_test "$mode" "$name" "$extra"; ntraps=$((ntraps + 1))
done 3< tests/run/progs/traps.cases
[ "$ntraps" -eq 19 ] || fail trap_list "tests/run/progs/traps.cases lists $ntraps trap kinds, want 19"
kr notrap_oob_last 0 'before\n90\nafter\n' "$P/traps.kimg" oob-last
kr notrap_indirect_ok 0 'before\n42\nafter\n' "$P/traps.kimg" indirect-ok
ERR_HAS='call stack exhausted' kr trap_deep_recursion_c 134 'recursing\n' "$P/deeprec.kimg"
ERR_HAS='integer divide by zero' kr trap_divzero_c 134 'dividing\n' "$P/divzero.kimg"
ERR_HAS='unreachable' kr trap_rust_panic 134 'about to panic\n' "$P/panic_rs.kimg"

# ---- memory ----------------------------------------------------------------------------------
kr memory_200MiB 0 'got 200 MiB\n' "$P/maxmem.kimg" 200
kr bigmem_80MiB 0 'pages > 1024: yes\nbad bytes: 0\nsum: 0b8c9dc5\n' "$P/bigmem.kimg"
kr memgrow_past_max 0 'memgrow ok\n' "$P/memgrow.kimg"
kr growlimit_2MiB 0 '1\n-1\n32\n-1\n9\n' --max-memory-mb 2 "$P/growlimit.kimg"
kr_wait
mark runs_traps_memory
else
  echo "NOTE runs, traps, memory: covered by tests/run's kvm pass on the kvm backend (native run)"
fi

# ---- one at a time: timing, big stdin, clocks ---------------------------------------------------
t0=$(date +%s%N)
ERR_HAS='timeout after 300 ms' kr timeout_busy_loop 124 '' --timeout-ms 300 "$P/loop.kimg"; kr_wait
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -ge 300 ] && [ $ms -lt 5000 ] && pass "timeout_busy_loop_time ($ms ms)" || fail "timeout_busy_loop_time" "$ms ms for a 300 ms timeout"
ERR_HAS='timeout after 300 ms' kr timeout_in_sleep 124 'sleeping\n' --timeout-ms 300 "$P/sleeper.kimg"; kr_wait
head -c $((1048576 + 7)) /dev/urandom >"$T/in.bin"
timeout 60 "$KL" run --isolation kvm "$P/cat.kimg" <"$T/in.bin" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 0 ] && cmp -s "$T/in.bin" "$T/out" && grep -q 'cat: 1048583 bytes' "$T/err"; then pass "stdin_1MiB_binary"
else fail "stdin_1MiB_binary" "exit $rc, $(wc -c <"$T/out") bytes back: $(head -c 200 "$T/err")"; fi
timeout 60 "$KL" run --isolation kvm "$P/clocks.kimg" >"$T/out" 2>"$T/err"
if grep -q 'slept >= 50 ms: yes' "$T/out" && grep -q 'monotonic advances: yes' "$T/out"; then pass "clocks"
else fail "clocks" "$(head -c 300 "$T/out" | tr '\n' ' ')"; fi
r1=$("$KL" run --isolation kvm "$P/random.kimg" 2>&1); r2=$("$KL" run --isolation kvm "$P/random.kimg" 2>&1)
if [[ $r1 =~ ^[0-9a-f]{64}$ ]] && [ "$r1" != "$r2" ]; then pass "random"; else fail "random" "'$r1' '$r2'"; fi
out=$("$KL" run --isolation kvm --max-memory-mb 16 "$P/maxmem.kimg" 64 2>&1)
got=$(echo "$out" | sed -n 's/^got \([0-9]*\) MiB$/\1/p')
[ -n "$got" ] && [ "$got" -ge 12 ] && [ "$got" -lt 16 ] && pass "memory_cap_16MiB ($got MiB)" || fail "memory_cap_16MiB" "$out"
mark timing_stdin_clocks

# ---- warm reset: --repeat runs every request from the snapshot ---------------------------
"$KL" run --isolation kvm --repeat 1000 "$P/counter.kimg" >"$T/out" 2>"$T/err"; rc=$?
n1=$(grep -c '^1$' "$T/out"); nother=$(grep -E '^[0-9]+$' "$T/out" | grep -vc '^1$')
[ $rc = 0 ] && [ "$n1" = 1000 ] && [ "$nother" = 0 ] && pass "counter_fresh_1000_requests" \
  || fail "counter_fresh_1000_requests" "exit $rc, $n1 answers of 1, $nother others: $(head -c 200 "$T/err")"
# Each request grows memory by 4 MiB: each must start from the snapshot's size.
"$KL" run --isolation kvm --repeat 100 "$P/grow.kimg" grow >"$T/out" 2>"$T/err"; rc=$?
sizes=$(grep -o 'grew [0-9]* -> [0-9]*' "$T/out" | sort | uniq -c | tr -s ' ')
[ $rc = 0 ] && [ "$(echo "$sizes" | wc -l)" = 1 ] && [ "$(echo "$sizes" | awk '{print $1}')" = 100 ] \
  && pass "grown_memory_reset_100_requests ($(echo "$sizes" | cut -d' ' -f3-))" \
  || fail "grown_memory_reset_100_requests" "exit $rc: $sizes $(head -c 200 "$T/err")"
"$KL" run --isolation kvm --repeat 500 -v "$P/hello.kimg" >"$T/out" 2>"$T/err"; rc=$?
p50=$(grep -o '500 requests: p50 [0-9.]* us, p99 [0-9.]* us' "$T/err")
[ $rc = 0 ] && [ "$(grep -c '^hello, world$' "$T/out")" = 500 ] && [ -n "$p50" ] \
  && pass "repeat_500_hello ($p50)" || fail "repeat_500_hello" "exit $rc: $(head -c 300 "$T/err")"
echo "NOTE per-request cost inside: $(grep -h 'requests: p50\|cold start' "$T/err" | tr '\n' ' ')"

mark warm_reset
# ---- escape attempts: code that left the Wasm sandbox tries to leave the guest ---------------
# tests/escape's image (built by run.sh like tests/escape/run.sh does): each
# attempt must end the guest with one kernless: line and a failure status,
# never print ESCAPED, never create the marker file.
MARKER=/tmp/..kl-escape-marker.kvm.$$
if [ -s "$P/escape.kimg" ]; then
  kr escape_image_runs 0 'attempt ok\nok\n' "$P/escape.kimg" ok
  for a in sys-getpid sys-write "sys-openat $MARKER" "sys-execve touch_$MARKER" sys-socket sys-ptrace \
           sys-kill sys-mmap-rwx sys-mprotect-code int80 sysenter vsyscall "read 0x7fff00000000" \
           "read 0x1000" "read 0x100000" write-code "write 0x4001000" out-0x80 \
           out-fault-port in-port hlt cli mov-cr3 hc-outside hc-misaligned hc-past-end hc-in-code \
           hc-unknown hc-exit-huge hc-read-into-code; do
    set -- $a
    n=$1; [ $# -gt 1 ] && n="$1-$2"
    NO_ESCAPE=1 kr "escape_${n//\//_}" nz '' --timeout-ms 5000 "$P/escape.kimg" "$@"
  done
  # By design on KVM, not an escape: the TSS I/O bitmap opens the hostcall
  # ports to CPL 3 (the gate is an `out` at CPL 3 too), so an `out` to the exit
  # port is the exit hostcall: it ends the guest with the status its struct
  # holds (0 here) and never returns to print ESCAPED.
  kr escape_out-hostcall-port_is_the_exit_hostcall 0 '' "$P/escape.kimg" out-hostcall-port
  # Vector registers never reach the next request of a warm VM: the gate
  # loads their initial state past READY (tests/escape/run.sh, vregs).
  kr escape_vregs_never_reach_the_next_request 0 \
    'attempt vregs\nvregs: none from an earlier request; secret left\n'\
'attempt vregs\nvregs: none from an earlier request; secret left\n' \
    --repeat 2 "$P/escape.kimg" vregs
  kr_wait
  [ -e "$MARKER" ] && fail "escape_no_marker" "$MARKER exists" || pass "escape_no_marker"
  rm -f "$MARKER"
else
  skip "escape_attempts" "no escape image: tests/escape/escape.c is missing or did not build"
fi
mark escape

if ! covered_natively; then
# ---- a server with the KVM backend -----------------------------------------------------------
# Its images come from the host's deploys: copied into a fresh data folder, so
# the deploys here are cache hits and nothing compiles under emulation.
# Requests go through one curl per batch (-K) or bash's /dev/tcp: under
# emulation each curl process costs about a second.
# hget PATH: one HTTP/1.0 GET; sets HCODE, HHDR (header lines) and HBODY.
hget() {
  local line hdr= body=
  HCODE=000 HHDR= HBODY=
  exec 5<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&5
  IFS= read -t 30 -r line <&5 || { exec 5<&-; return 1; }
  HCODE=${line#* }; HCODE=${HCODE%% *}
  while IFS= read -t 30 -r line <&5; do line=${line%$'\r'}; [ -z "$line" ] && break; hdr+="$line"$'\n'; done
  while IFS= read -t 30 -r line <&5 || [ -n "$line" ]; do body+="$line"$'\n'; done
  exec 5<&-
  HHDR=$hdr HBODY=$body
}
# urls PATH N [output]: a curl -K config of N requests to PATH.
urls() { local i; for ((i = 0; i < $2; i++)); do echo "url = \"$U$1\""; [ -n "${3:-}" ] && echo "output = $3"; done; }
mkdir -p "$T/data/images" && chmod 700 "$T/data" "$T/data/images"
cp "$W/hostdata/images/"*.kimg "$T/data/images/"
export KERNLESS_DATA=$T/data
# The optimised tier only: these checks are about the KVM backend, and under
# emulation the baseline tier's code (tcc) scans memory too slowly for the
# secret function's timeout (it answered 504 where a result was due).
KERNLESS_TIER=optimised kl_serve "$T/serve.out" "$T/serve.err" --data "$T/data" --isolation kvm --idle-ms 2000
if [ -z "$PORT" ]; then
  fail "server_start" "$(tail -c 300 "$T/serve.err")"
else
  check_has "server_isolation_kvm" "isolation kvm" "$(cat "$T/serve.out")"
  ok=1
  for f in whello counter secret grow strap sloop; do
    to=3000; [ $f = sloop ] && to=300
    "$KL" deploy "$f" "$P/$f.wasm" --route "/$f" --timeout-ms $to >"$T/deploy.log" 2>&1 \
      || { ok=0; fail "deploy_$f" "$(tail -c 300 "$T/deploy.log")"; }
    grep -q 'cached image' "$T/deploy.log" || echo "note: $f was compiled inside: $(tail -n 1 "$T/deploy.log")"
  done
  [ $ok = 1 ] && pass "deploy_6_functions"
  C="curl -s --max-time 60"
  check "hello_100_requests" "100" "$(urls /whello 100 | $C -K - | grep -c '^Hello from Kernless!$')"
  # A trap and a timeout, 5 times each, while 2 clients make 100 more requests.
  W_FMT='%{http_code} %header{x-kernless-error}\n'
  urls /sloop 5 /dev/null | $C -K - -w "$W_FMT" >"$T/loop.codes" & lp=$!
  urls /strap 5 /dev/null | $C -K - -w "$W_FMT" >"$T/trap.codes" & tp=$!
  urls /whello 50 | $C -K - >"$T/conc1.out" & c1=$!
  urls /whello 50 | $C -K - >"$T/conc2.out" & c2=$!
  wait $lp $tp $c1 $c2
  check "hello_100_during_trap_and_timeout" "100" "$(cat "$T/conc1.out" "$T/conc2.out" | grep -c '^Hello from Kernless!$')"
  check "timeout_answers_504" "5" "$(grep -c '^504 timeout' "$T/loop.codes")"
  check "trap_answers_500" "5" "$(grep -c '^500 trap' "$T/trap.codes")"
  # Warm reset through the server: a counter stays 1, a secret never leaks,
  # memory grown in one request is gone in the next.
  check "server_counter_fresh_200" " 200 1" "$(urls /counter 200 | $C -K - | sort | uniq -c | tr -s ' ')"
  # /secret?k=PREV.NOW scans linear memory for PREV, plants NOW in 5 places
  # and counts them (self); markers travel shifted to g..v (tests/pool/fn/secret.c).
  # Plain bash: under emulation every extra process costs ~0.1 s.
  mk() { printf -v "$1" '%04x%04x%04x%04x%04x%04x%04x%04x' $RANDOM $RANDOM $RANDOM $RANDOM \
           $RANDOM $RANDOM $RANDOM $RANDOM; }
  shifted() { local s=$2 d; for d in 0g 1h 2i 3j 4k 5l 6m 7n 8o 9p aq br cs dt eu fv; do s=${s//${d:0:1}/${d:1}}; done; printf -v "$1" %s "$s"; }
  mk prev; leaks=0; badans=0
  for i in $(seq 1 30); do
    mk now; shifted sp "$prev"; shifted sn "$now"
    hget "/secret?k=$sp.$sn"; r=$HBODY
    case "$r" in found=0\ self=[5-9]\ *|found=0\ self=[1-9][0-9]*) ;; found=0\ *) badans=$((badans+1)) ;; found=*) leaks=$((leaks+1)) ;; *) badans=$((badans+1)) ;; esac
    prev=$now
  done
  check "server_secret_never_leaks_30" "0 leaks, 0 bad" "$leaks leaks, $badans bad"
  # The positive control: the same scan, in the same request, finds the 5
  # copies the request planted (the old scan from a null pointer was deleted
  # by the compiler and found nothing, ever).
  r=${r#*self=}; r=${r%% *}
  [ "${r:-0}" -ge 5 ] 2>/dev/null && pass "server_secret_scanner_finds_own" \
    || fail "server_secret_scanner_finds_own" "the last answer: $HBODY"
  ok=1 why=
  for i in 1 2 3; do
    hget "/grow?grow"; case "$HBODY" in grew*) ;; *) ok=0; why="grow: $HCODE $HBODY" ;; esac
    hget "/grow?probe"
    case "$HCODE $HHDR" in "500 "*"trap: out of bounds memory access"*) ;; *) ok=0; why="probe: $HCODE $HHDR" ;; esac
  done
  [ $ok = 1 ] && pass "server_grown_memory_unmapped" || fail "server_grown_memory_unmapped" "$(echo "$why" | tr '\n' ' ')"
  hget /healthz
  check_has "server_healthz_kvm" '"isolation":"kvm"' "$(echo "$HBODY" | tr -d ' ')"
  kill -0 "$SPID" 2>/dev/null && pass "server_alive" || fail "server_alive" "$(tail -c 300 "$T/serve.err")"
  kl_stop
fi
mark server
else
  echo "NOTE server: covered by tests/server's and tests/pool's kvm passes on the kvm backend (native run)"
fi
if ! covered_natively; then
# ---- spec files --------------------------------------------------------------------------------
if [ -s "$W/spec-files" ]; then
  t0=$(date +%s)
  # shellcheck disable=SC2046
  "$KL" wast -j2 --isolation kvm --cache-dir "$CACHE/spec" $(cat "$W/spec-files") >"$T/spec.log" 2>&1
  got=$(tail -n 1 "$T/spec.log"); want=$(cat "$W/spec-host.total")
  if [ "$got" = "$want" ] && [[ $got == *" passed, 0 failed, "* ]]; then
    pass "spec_10_files ($got, $(( $(date +%s) - t0 )) s)"
  else
    fail "spec_10_files" "got '$got', on the host '$want': $(grep -v skipped "$T/spec.log" | head -5 | tr '\n' ' ')"
  fi
fi
mark spec
else
  echo "NOTE spec files: covered by tests/spec's kvm pass (every file) on the kvm backend (native run)"
fi

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
