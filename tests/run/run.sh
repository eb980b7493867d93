#!/usr/bin/env bash
# run.sh - end-to-end tests of `kernless run` and `kernless compile` on wasm32-wasi programs built from tests/run/progs/.
#
# Usage: tests/run/run.sh BUILD_DIR
# Builds the programs into BUILD_DIR/run-progs/ (only when a source is newer),
# then runs every test against BUILD_DIR/san/kernless (ASan build), falling
# back to BUILD_DIR/kernless. Prints "PASS name" or "FAIL name: ..." per test
# and, last, "run: N passed, N failed". Exits non-zero if anything failed.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh         # kl_backends, kl_each_backend; this suite keeps its own checks
kl_each_backend run    # once per backend the host has: test names end in _BACKEND
ROOT=$PWD
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PROGS=$ROOT/tests/run/progs
OUT=$BUILD/run-progs
mkdir -p "$OUT"

TMP=$(mktemp -d /tmp/kernless-run.XXXXXX)
cleanup() { exec 7>&- 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
# One cache for the whole suite (all its backend passes), so each module is
# compiled once per run; the caching tests use their own fresh folders.
export XDG_CACHE_HOME=${KL_EACH_TMP:-$TMP}/cache
mkdir -p "$XDG_CACHE_HOME"

passed=0; failed=0
T=""; ERRS=""

# ---------- reporting ----------
# Quote up to 240 bytes of a file so newlines and binary show in one line.
show() { local s; s=$(head -c 240 "$1"; echo x); s=${s%x}; printf '%q' "$s"; }
begin() { T=$1; ERRS=""; }
bad() { ERRS+="${ERRS:+; }$*"; }
# end [note]: a sanitizer report from the ASan build fails any test, whatever else it checked.
end() {
  local s
  s=$(grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|AddressSanitizer' "$TMP/err" 2>/dev/null)
  [ -n "$s" ] && bad "sanitizer report on stderr: $s"
  if [ -z "$ERRS" ]; then echo "PASS $T$KL_TAG${1:+ ($1)}"; passed=$((passed + 1))
  else echo "FAIL $T$KL_TAG: $ERRS"; failed=$((failed + 1)); fi
}
# A one-test failure that needs no run (build errors, missing tools).
fail_now() { echo "FAIL $1$KL_TAG: $2"; failed=$((failed + 1)); }

# ---------- building the programs ----------
have_tools=1
check_tool() { command -v "$1" >/dev/null 2>&1 || { fail_now "tool-$1" "$1 not found (run scripts/deps.sh)"; have_tools=0; }; }
check_tool clang; check_tool wat2wasm
[ -x /usr/bin/rustc ] || { fail_now "tool-rustc" "/usr/bin/rustc not found (Debian rustc + libstd-rust-dev-wasm32)"; have_tools=0; }

# build_one SRC: compile to $OUT/<stem>.wasm unless that is newer than SRC.
# Builds into a temp name first so a failed build never leaves a fresh-looking output.
build_one() {
  local src=$1 stem out tmpout log
  stem=$(basename "${src%.*}"); out=$OUT/$stem.wasm; tmpout=$OUT/.$stem.tmp.wasm; log=$OUT/$stem.build.log
  [ "$out" -nt "$src" ] && return 0
  case $src in
    *.c)   clang --target=wasm32-wasi -O2 "$src" -o "$tmpout" -Wl,--strip-debug >"$log" 2>&1 ;;
    # Debian's rustc has the wasm32-wasi std; a rustup rustc earlier on PATH does not.
    *.rs)  /usr/bin/rustc --target wasm32-wasi -O -C strip=debuginfo "$src" -o "$tmpout" >"$log" 2>&1 ;;
    *.wat) wat2wasm "$src" -o "$tmpout" >"$log" 2>&1 ;;
  esac
  if [ $? -ne 0 ]; then
    rm -f "$tmpout"; fail_now "build-$stem" "$(basename "$src") does not build: $(head -c 300 "$log" | tr '\n' ' ')"
    return 1
  fi
  mv -f "$tmpout" "$out"; rm -f "$log"
}
if [ "$have_tools" = 1 ]; then
  # Two sources with the same stem would overwrite each other's output.
  dup=$(ls "$PROGS" | grep -E '\.(c|rs|wat)$' | sed -E 's/\.[a-z]+$//' | sort | uniq -d)
  [ -n "$dup" ] && fail_now "build-names" "sources share a stem: $dup"
  for src in "$PROGS"/*.c "$PROGS"/*.rs "$PROGS"/*.wat; do
    [ -e "$src" ] && build_one "$src"
  done
fi
W=$OUT  # where the .wasm files are
KILL_AFTER=120 MS=0
PREFIX=()  # a command to run kernless under (the no-kvm test uses it)

# ---------- the binary under test ----------
if [ -x "$BUILD/san/kernless" ]; then KL=$BUILD/san/kernless
elif [ -x "$BUILD/kernless" ]; then KL=$BUILD/kernless
else
  fail_now "kernless-binary" "neither $BUILD/san/kernless nor $BUILD/kernless exists (build kernless first)"
  echo "run: $passed passed, $failed failed"
  exit 1
fi
echo "using $KL"

# kl ARGS...: run kernless with stdin from $STDIN (default /dev/null); sets RC
# and MS (wall ms), stdout in $TMP/out, stderr in $TMP/err. A hung kernless is
# SIGKILLed after $LIMIT s (exit 137 then, never 124, which means timeout).
kl() {
  local t0; t0=$(date +%s%N)
  # The subshell swallows bash's "Killed" job notice; the run's own stderr is in $TMP/err.
  # (The trailing exit stops bash from exec'ing timeout in place of the subshell.)
  KILL_AFTER=${LIMIT:-120}
  (timeout --preserve-status -s KILL "$KILL_AFTER" "${PREFIX[@]}" "$KL" "$@" <"${STDIN:-/dev/null}" >"$TMP/out" 2>"$TMP/err"; exit $?) 2>/dev/null
  RC=$?
  MS=$((($(date +%s%N) - t0) / 1000000))
}
# Name the signal when an exit status looks like one (134 is also the trap status).
rcdesc() {
  if [ "$1" -eq 137 ] && [ "$MS" -ge $((KILL_AFTER * 1000)) ]; then echo "none: hung, killed after $KILL_AFTER s"
  elif [ "$1" -gt 128 ] && [ "$1" -ne 134 ]; then echo "$1 (signal $(kill -l $(($1 - 128)) 2>/dev/null))"
  else echo "$1"; fi
}
want_rc() { [ "$RC" -eq "$1" ] || bad "exit status: want $1, got $(rcdesc "$RC")"; }
want_out() { printf '%b' "$1" >"$TMP/exp"; cmp -s "$TMP/exp" "$TMP/out" || bad "stdout: want $(show "$TMP/exp"), got $(show "$TMP/out")"; }
want_out_file() { cmp -s "$1" "$TMP/out" || bad "stdout differs from $(basename "$1") ($(wc -c <"$1") bytes in, $(wc -c <"$TMP/out") out: $(cmp "$1" "$TMP/out" 2>&1 | head -n1))"; }
want_err() { printf '%b' "$1" >"$TMP/exp"; cmp -s "$TMP/exp" "$TMP/err" || bad "stderr: want $(show "$TMP/exp"), got $(show "$TMP/err")"; }
want_err_has() { grep -qF -- "$1" "$TMP/err" || bad "stderr: want a line containing '$1', got $(show "$TMP/err")"; }
want_err_lacks() { grep -qF -- "$1" "$TMP/err" && bad "stderr: must not contain '$1', got $(show "$TMP/err")"; }
want_err_lines() { local n; n=$(grep -c '' "$TMP/err"); [ "$n" -eq "$1" ] || bad "stderr: want $1 line(s), got $n: $(show "$TMP/err")"; }
# Exactly one stderr line, and it starts with "kernless:" (a final line without \n counts too).
want_err_one_kl_line() {
  local n; n=$(grep -c '' "$TMP/err")
  [ "$n" -eq 1 ] || bad "stderr: want exactly 1 line, got $n: $(show "$TMP/err")"
  head -n1 "$TMP/err" | grep -q '^kernless:' || bad "stderr: want a line starting 'kernless:', got $(show "$TMP/err")"
}
# The status of a module that cannot run: non-zero, not the trap status, not a signal.
want_reject_rc() {
  if [ "$RC" -eq 0 ] || [ "$RC" -eq 134 ] || [ "$RC" -ge 128 ] || [ "$RC" -eq 124 ]; then
    bad "exit status: want non-zero, not 124/134, not a signal; got $(rcdesc "$RC")"
  fi
}

# ---------- hello, args, env, exit ----------
begin hello-c; kl run "$W/hello.wasm"
want_rc 0; want_out 'hello, world\n'; want_err ''; end "$MS ms, first run compiles"

begin hello-c-cached; kl run "$W/hello.wasm"
want_rc 0; want_out 'hello, world\n'; want_err ''; end "$MS ms"

begin hello-rust; kl run "$W/hello_rs.wasm"
want_rc 0; want_out 'hello from rust\nargs: []\nGREETING unset\nsum: 500500\n'; want_err ''; end

# Arguments after the module belong to the program, even ones that look like kernless options.
begin args; kl run "$W/args.wasm" a "b c" "" "ünï" -v --timeout-ms 5
want_rc 0; want_out 'argc=8\n[a]\n[b c]\n[]\n[ünï]\n[-v]\n[--timeout-ms]\n[5]\n'; want_err ''; end

begin args-none; kl run "$W/args.wasm"
want_rc 0; want_out 'argc=1\n'; want_err ''; end

# Like wasmtime, only --env variables reach the guest: the host's (LEAKME here) must not.
begin env; LEAKME=1 kl run --env A=1 --env "B=two words" --env C=x=y "$W/env.wasm"
want_rc 0; want_out 'A=1\nB=two words\nC=x=y\ngetenv(A)=1\ncount=3\n'; want_err ''; end

begin env-none; LEAKME=1 kl run "$W/env.wasm"
want_rc 0; want_out 'getenv(A)=(null)\ncount=0\n'; want_err ''; end

begin rust-args-env-exit; kl run --env GREETING=hi "$W/hello_rs.wasm" x "y z" exit=7
want_rc 7; want_out 'hello from rust\nargs: ["x", "y z", "exit=7"]\nGREETING=hi\nsum: 500500\n'; want_err ''; end

for c in 0 1 42; do
  begin "exit-$c"; kl run "$W/exit.wasm" "$c"
  want_rc "$c"; want_out "exiting with $c\n"; want_err ''; end
done
begin exit-42-return-from-main; kl run "$W/exit.wasm" 42 ret
want_rc 42; want_out 'exiting with 42\n'; want_err ''; end

# ---------- stdio ----------
begin stdio-separate; kl run "$W/stdio.wasm"
want_rc 0; want_out 'out 1\nout 2\nout 3 (buffered, no newline)'; want_err 'err 1\nerr 2\n'; end

# 1 MiB + 7 bytes of random data: binary-safe, NULs included, more than any single buffer.
head -c $((1048576 + 7)) /dev/urandom >"$TMP/in.bin"
begin cat-binary-1MiB; STDIN=$TMP/in.bin kl run "$W/cat.wasm"
want_rc 0; want_out_file "$TMP/in.bin"; want_err 'cat: 1048583 bytes\n'; end "$MS ms"

begin cat-empty-stdin; kl run "$W/cat.wasm"
want_rc 0; want_out ''; want_err 'cat: 0 bytes\n'; end

# ---------- clocks and randomness ----------
begin clocks; t0=$(date +%s); kl run "$W/clocks.wasm"; t1=$(date +%s)
want_rc 0
rt=$(sed -n 's/^realtime \([0-9]*\)$/\1/p' "$TMP/out")
if [ -z "$rt" ]; then bad "no 'realtime N' line: $(show "$TMP/out")"
elif [ "$rt" -lt $((t0 - 2)) ] || [ "$rt" -gt $((t1 + 2)) ]; then bad "realtime $rt is not the host's time ($t0..$t1)"; fi
sed -i '/^realtime [0-9]*$/d' "$TMP/out"
want_out 'monotonic advances: yes\nnanosleep returned 0\nslept >= 50 ms: yes\nslept < 2000 ms: yes\nrealtime advances: yes\n'
grep -qE '^slept [0-9]+ ms$' "$TMP/err" || bad "stderr: want 'slept N ms', got $(show "$TMP/err")"
end "$(cat "$TMP/err" 2>/dev/null)"

begin random-differs; kl run "$W/random.wasm"; r1=$(cat "$TMP/out"); rc1=$RC; kl run "$W/random.wasm"; r2=$(cat "$TMP/out")
[ "$rc1" -eq 0 ] && [ "$RC" -eq 0 ] || bad "exit statuses $rc1, $RC (want 0, 0)"
for r in "$r1" "$r2"; do [[ $r =~ ^[0-9a-f]{64}$ ]] || bad "want 64 hex digits, got '$r'"; done
[ "$r1" != "$r2" ] || bad "two runs printed the same bytes: $r1"
[ "$r1" != "$(printf '0%.0s' {1..64})" ] || bad "random bytes are all zero"
end

# ---------- memory ----------
begin bigmem-80MiB; kl run "$W/bigmem.wasm"
want_rc 0; want_out 'pages > 1024: yes\nbad bytes: 0\nsum: 0b8c9dc5\n'; want_err ''; end "$MS ms"

# A run that is never reset maps each whole, aligned 2 MiB of linear memory
# as one large page on KVM (kl_vm_large_pages), also where page-by-page
# growth completed it. The memory stays exactly as big as the module made
# it: one byte past the end still traps. Controls: KERNLESS_LARGE_PAGES=0
# (none, same answers), and --repeat, whose warm VM must keep small pages
# (its reset reads per-page dirty bits).
GROW_OUT='pages 170, bad 0, last byte 0\n'
large_pages() { sed -n 's/.* exits, \([0-9]*\) large pages;.*/\1/p' "$TMP/err"; }
begin large-pages-grow-step; kl run -v "$W/growstep.wasm" 170 oob
want_rc 134; want_out "$GROW_OUT"; want_err_has 'kernless: trap: out of bounds memory access'
n=$(large_pages)
if [ "${KL_ISO:-}" = kvm ]; then [ "${n:-0}" -ge 5 ] || bad "want at least 5 large pages on KVM (10.6 MiB), got '${n}'"
else [ "${n:-x}" = 0 ] || bad "want 0 large pages on the $KL_ISO backend, got '${n}'"; fi
end "${n:-?} large pages"

begin large-pages-off-same-answer; KERNLESS_LARGE_PAGES=0 kl run -v "$W/growstep.wasm" 170 oob
want_rc 134; want_out "$GROW_OUT"; want_err_has 'kernless: trap: out of bounds memory access'
[ "$(large_pages)" = 0 ] || bad "KERNLESS_LARGE_PAGES=0: want 0 large pages, got '$(large_pages)'"
end

begin large-pages-not-in-warm-vm; kl run --repeat 3 "$W/growstep.wasm" 170
want_rc 0; want_out "$GROW_OUT$GROW_OUT$GROW_OUT"; end

begin memgrow-past-max; kl run "$W/memgrow.wasm"
want_rc 0; want_out 'memgrow ok\n'; want_err ''
[ "$RC" -gt 10 ] && [ "$RC" -lt 20 ] && bad "check $((RC - 10)) in memgrow.wat failed"
end

begin growlimit-default; kl run "$W/growlimit.wasm"
want_rc 0; want_out '1\n32\n33\n-1\n9\n'; want_err ''; end

# 2 MiB = 32 pages: growing to exactly 32 is allowed, page 33 is refused with -1.
begin growlimit-max-memory-mb-2; kl run --max-memory-mb 2 "$W/growlimit.wasm"
want_rc 0; want_out '1\n-1\n32\n-1\n9\n'; want_err ''; end

begin maxmem-unlimited; kl run "$W/maxmem.wasm" 64
want_rc 0; want_out 'got 64 MiB\n'; want_err ''; end

# Under a 16 MiB cap, malloc must fail cleanly somewhat below 16 (libc data and
# malloc headers take a little), not trap and not ignore the cap.
begin maxmem-max-memory-mb-16; kl run --max-memory-mb 16 "$W/maxmem.wasm" 64
want_rc 0; want_err ''
got=$(sed -n 's/^got \([0-9]*\) MiB$/\1/p' "$TMP/out")
if [ -z "$got" ]; then bad "stdout: want 'got N MiB', got $(show "$TMP/out")"
elif [ "$got" -lt 12 ] || [ "$got" -ge 16 ]; then bad "got $got MiB under --max-memory-mb 16 (want 12..15)"; fi
end "${got:-?} MiB"

# ---------- traps ----------
# trap_test MODE NAME [EXTRA_STDOUT]: traps.wasm MODE prints "before", maybe more, then traps with NAME.
trap_test() {
  # Every trap comes within a second; 30 s means it hung (e.g. recursion compiled into a loop).
  begin "trap-$1"; LIMIT=30 kl run "$W/traps.wasm" "$1"
  want_rc 134; want_out "before\n${3:-}"; want_err_one_kl_line; want_err_has "$2"; end
}
# One list of trap kinds for this suite and tests/kvm (every line must be used).
ntraps=0
while IFS='|' read -r -u 3 mode name extra; do
  case $mode in ''|'#'*) continue ;; esac
  trap_test "$mode" "$name" "$extra"; ntraps=$((ntraps + 1))
done 3< tests/run/progs/traps.cases
[ "$ntraps" -eq 19 ] || fail_now trap-list "tests/run/progs/traps.cases lists $ntraps trap kinds, want 19"

# The same module must NOT trap for these: the edges that are still in bounds or defined.
notrap_test() {
  begin "notrap-$1"; kl run "$W/traps.wasm" "$1"
  want_rc 0; want_out "before\n$2after\n"; want_err ''; end
}
notrap_test oob-last      '90\n'
notrap_test oob-last-word '16909060\n'
notrap_test rem-ok        '0\n'
notrap_test sat-ok        '0\n-1\n'
notrap_test indirect-ok   '42\n'

begin trap-deep-recursion-c; LIMIT=30 kl run "$W/deeprec.wasm"
want_rc 134; want_out 'recursing\n'; want_err_one_kl_line; want_err_has 'call stack exhausted'; end "$MS ms"

begin trap-divzero-c; kl run "$W/divzero.wasm"
want_rc 134; want_out 'dividing\n'; want_err_one_kl_line; want_err_has 'integer divide by zero'; end

# Rust's panic prints its message, then aborts; on wasm32-wasi abort is an unreachable trap.
begin rust-panic; kl run "$W/panic_rs.wasm"
want_rc 134; want_out 'about to panic\n'
want_err_has "panicked at 'boom: 0 items'"
n=$(grep -c '^kernless:' "$TMP/err"); [ "$n" -eq 1 ] || bad "want exactly one 'kernless:' line on stderr, got $n: $(show "$TMP/err")"
grep '^kernless:' "$TMP/err" | grep -qF unreachable || bad "the kernless: line must name the unreachable trap: $(show "$TMP/err")"
end

# ---------- timeouts ----------
# Each is run twice: the first run may include compiling, the second (cached)
# is timed: at least the limit, and well under a few seconds.
timeout_test() { # NAME MS MODULE [EXPECTED_STDOUT]
  local name=$1 ms=$2 mod=$3 out=${4:-} first
  begin "$name"; LIMIT=60 kl run --timeout-ms "$ms" "$W/$mod"; first=$RC
  [ "$first" -eq 124 ] || bad "first run: exit status $(rcdesc "$first"), want 124"
  LIMIT=30 kl run --timeout-ms "$ms" "$W/$mod"
  want_rc 124; want_out "$out"; want_err_lines 1; want_err_has "timeout after $ms ms"
  [ "$MS" -ge "$ms" ] || bad "stopped after $MS ms, before the $ms ms limit"
  [ "$MS" -lt 2500 ] || bad "took $MS ms to stop a $ms ms timeout (want < 2500)"
  end "$MS ms"
}
timeout_test timeout-busy-loop 200 loop.wasm
# sleeper.wasm sleeps 10 s in poll_oneoff: the timeout must cut a host-side wait short.
timeout_test timeout-in-sleep 300 sleeper.wasm 'sleeping\n'

# Blocked reading a stdin that never delivers: fd 7 holds the FIFO's write end open.
mkfifo "$TMP/fifo"; exec 7<>"$TMP/fifo"
begin timeout-blocked-on-stdin; STDIN=$TMP/fifo LIMIT=30 kl run --timeout-ms 300 "$W/cat.wasm"
want_rc 124; want_out ''; want_err_has 'timeout after 300 ms'
[ "$MS" -lt 2500 ] || bad "took $MS ms to stop a 300 ms timeout (want < 2500)"
end "$MS ms"
exec 7>&-

# ---------- modules that cannot run ----------
printf 'this is not a wasm module at all\n\x00\x01\x02\xff' >"$TMP/garbage.wasm"
head -c $(($(wc -c <"$W/hello.wasm") / 2)) "$W/hello.wasm" >"$TMP/truncated.wasm"
printf '\x00asm\x02\x00\x00\x00' >"$TMP/badversion.wasm"
: >"$TMP/empty.wasm"
reject_test() { # NAME MODULE_PATH
  begin "reject-$1"; kl run "$2"
  want_reject_rc; want_out ''; want_err_one_kl_line; end
}
reject_test simd            "$W/simd.wasm"
reject_test import-env-foo  "$W/import_env.wasm"
reject_test import-unknown-wasi-func "$W/import_badwasi.wasm"
reject_test import-wasi-wrong-signature "$W/import_badsig.wasm"
reject_test no-start-export "$W/nostart.wasm"
reject_test garbage-bytes   "$TMP/garbage.wasm"
reject_test truncated-wasm  "$TMP/truncated.wasm"
reject_test bad-version     "$TMP/badversion.wasm"
reject_test empty-file      "$TMP/empty.wasm"
reject_test missing-file    "$TMP/no-such-module.wasm"

# `compile` must reject the same way and leave no output file behind.
for m in simd:"$W/simd.wasm" garbage:"$TMP/garbage.wasm" import-env:"$W/import_env.wasm"; do
  begin "compile-reject-${m%%:*}"; rm -f "$TMP/rej.kimg"; kl compile "${m#*:}" -o "$TMP/rej.kimg"
  want_reject_rc; want_out ''; want_err_one_kl_line
  [ -e "$TMP/rej.kimg" ] && bad "left an output file $(wc -c <"$TMP/rej.kimg") bytes"
  end
done

# ---------- caching ----------
# The compile cache does not depend on the backend: first pass only.
if kl_first_pass; then
# A fresh cache: first run compiles, a second run of the same bytes (even under
# another file name) is a cache hit, a different module compiles.
C=$TMP/cache-test
begin cache-first-run-compiles; XDG_CACHE_HOME=$C kl run -v "$W/exit.wasm" 3
want_rc 3; want_out 'exiting with 3\n'; want_err_has 'compiled'; want_err_lacks 'cache hit'
[ -n "$(find "$C/kernless" -type f 2>/dev/null | head -n1)" ] || bad "nothing stored under \$XDG_CACHE_HOME/kernless"
end "$MS ms"
begin cache-second-run-hits; XDG_CACHE_HOME=$C kl run -v "$W/exit.wasm" 4
want_rc 4; want_out 'exiting with 4\n'; want_err_has 'cache hit'; want_err_lacks 'compiled'; end "$MS ms"
cp "$W/exit.wasm" "$TMP/renamed-copy.wasm"
begin cache-keyed-by-content; XDG_CACHE_HOME=$C kl run -v "$TMP/renamed-copy.wasm" 5
want_rc 5; want_out 'exiting with 5\n'; want_err_has 'cache hit'; want_err_lacks 'compiled'; end
begin cache-other-module-compiles; XDG_CACHE_HOME=$C kl run -v "$W/hello.wasm"
want_rc 0; want_out 'hello, world\n'; want_err_has 'compiled'; want_err_lacks 'cache hit'; end
# Without XDG_CACHE_HOME the cache is ~/.cache/kernless.
begin cache-home-fallback; mkdir -p "$TMP/home"
( unset XDG_CACHE_HOME; HOME=$TMP/home kl run -v "$W/hello.wasm"; echo "$RC" >"$TMP/rc" )
RC=$(cat "$TMP/rc"); want_rc 0; want_out 'hello, world\n'; want_err_has 'compiled'
[ -n "$(find "$TMP/home/.cache/kernless" -type f 2>/dev/null | head -n1)" ] || bad "nothing stored under \$HOME/.cache/kernless"
end
# Two first runs at once into an empty cache must both succeed (no torn or half-written image).
begin cache-concurrent-first-runs; C2=$TMP/cache-race
XDG_CACHE_HOME=$C2 timeout --preserve-status -s KILL 120 "$KL" run "$W/args.wasm" one >"$TMP/race1" 2>&1 & p1=$!
XDG_CACHE_HOME=$C2 timeout --preserve-status -s KILL 120 "$KL" run "$W/args.wasm" two >"$TMP/race2" 2>&1 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] || bad "exit statuses $r1, $r2 (want 0, 0)"
printf 'argc=2\n[one]\n' | cmp -s - "$TMP/race1" || bad "run 1 printed $(show "$TMP/race1")"
printf 'argc=2\n[two]\n' | cmp -s - "$TMP/race2" || bad "run 2 printed $(show "$TMP/race2")"
cp "$TMP/race1" "$TMP/err"; cat "$TMP/race2" >>"$TMP/err"  # so end() sees sanitizer reports
end
else
  echo "NOTE caching: backend-independent, checked in the first backend pass"
fi

# ---------- ahead-of-time images ----------
begin compile-to-kimg; kl compile "$W/args.wasm" -o "$TMP/args.kimg"
want_rc 0; want_out ''
[ -s "$TMP/args.kimg" ] || bad "no image written at -o path"
end "$MS ms"
begin run-kimg; kl run "$TMP/args.kimg" p "q r"
want_rc 0; want_out 'argc=3\n[p]\n[q r]\n'; want_err ''; end
# An image is loaded from a path, whatever it is called.
begin run-kimg-copy; cp "$TMP/args.kimg" "$TMP/args-copy.kimg" 2>/dev/null; kl run "$TMP/args-copy.kimg"
want_rc 0; want_out 'argc=1\n'; want_err ''; end
# A damaged image must be refused (hash check), not run.
if [ -s "$TMP/args.kimg" ]; then
  cp "$TMP/args.kimg" "$TMP/flipped.kimg"; sz=$(wc -c <"$TMP/flipped.kimg"); off=$((sz / 2))
  b=$(od -An -tu1 -j "$off" -N1 "$TMP/flipped.kimg" | tr -d ' ')
  printf "\\$(printf '%03o' $(((b ^ 0x55) & 255)))" | dd of="$TMP/flipped.kimg" bs=1 seek="$off" conv=notrunc 2>/dev/null
  head -c "$off" "$TMP/args.kimg" >"$TMP/truncated.kimg"
fi
if [ -s "$TMP/args.kimg" ]; then
  reject_test kimg-flipped-byte "$TMP/flipped.kimg"
  reject_test kimg-truncated    "$TMP/truncated.kimg"
else
  # Without an image these would pass on "no such file", proving nothing.
  fail_now kimg-flipped-byte "no image from compile-to-kimg to damage"
  fail_now kimg-truncated "no image from compile-to-kimg to damage"
fi

# ---------- --isolation and KERNLESS_ISOLATION ----------
# Parsing and an explicit kvm need no working backend: they fail before any
# VM. Without /dev/kvm, `--isolation kvm` must refuse with one line naming
# it; with /dev/kvm it must run. The flag wins over the environment.
# (kernless serve's --isolation is tested in tests/server.) These checks set
# the environment themselves: the pass's KERNLESS_ISOLATION is put back after.
PASS_ISO=${KERNLESS_ISOLATION-}; unset KERNLESS_ISOLATION
iso_reject() { # NAME WANT_IN_ERR [kernless args...]: one kernless: line, a non-zero status, no output
  local name=$1 want=$2; shift 2
  begin "$name"; kl "$@"
  want_reject_rc; want_out ''; want_err_one_kl_line; want_err_has "$want"; end
}
iso_reject isolation-bogus "--isolation must be auto, kvm or process, got 'bogus'" run --isolation bogus "$W/hello.wasm"
iso_reject isolation-empty "--isolation must be auto, kvm or process" run --isolation '' "$W/hello.wasm"
KERNLESS_ISOLATION=Process iso_reject isolation-env-bogus "KERNLESS_ISOLATION must be auto, kvm or process, got 'Process'" run "$W/hello.wasm"
iso_reject wast-isolation-bogus "--isolation must be auto, kvm or process, got 'bogus'" wast --isolation bogus tests/spec/selftest.wast
if [ ! -e /dev/kvm ]; then
  iso_reject isolation-kvm-without-kvm /dev/kvm run --isolation kvm "$W/hello.wasm"
  KERNLESS_ISOLATION=kvm iso_reject isolation-env-kvm-without-kvm "KERNLESS_ISOLATION=kvm" run "$W/hello.wasm"
  # The flag wins: a bad environment value is never read.
  KERNLESS_ISOLATION=bogus iso_reject isolation-flag-beats-env /dev/kvm run --isolation kvm "$W/hello.wasm"
  iso_reject wast-isolation-kvm-without-kvm /dev/kvm wast --isolation kvm tests/spec/selftest.wast
else
  begin isolation-kvm-with-kvm; kl run --isolation kvm -v "$W/hello.wasm"
  want_rc 0; want_out 'hello, world\n'; want_err_has 'kernless: isolation: kvm'; want_err_lacks 'not usable'; end
  begin isolation-flag-beats-env; KERNLESS_ISOLATION=bogus kl run --isolation kvm "$W/hello.wasm"
  want_rc 0; want_out 'hello, world\n'; want_err ''; end
fi
# -v names the backend before anything runs; without -v nothing is added
# (the plain runs above compare stderr exactly).
if [ -e /dev/kvm ]; then AUTO_ISO='kernless: isolation: kvm'; else AUTO_ISO='kernless: isolation: process (KVM not usable: '; fi
begin isolation-verbose-auto; kl run -v "$W/hello.wasm"
want_rc 0; want_out 'hello, world\n'; want_err_has "$AUTO_ISO"
[ "$(grep -c 'isolation:' "$TMP/err")" -eq 1 ] || bad "want one isolation line, got $(show "$TMP/err")"
end
begin isolation-process-verbose; KERNLESS_ISOLATION=kvm kl run --isolation process -v "$W/hello.wasm"
want_rc 0; want_out 'hello, world\n'; want_err_has 'kernless: isolation: process'; want_err_lacks 'not usable'; end
begin isolation-process-env; KERNLESS_ISOLATION=process kl run "$W/exit.wasm" 3
want_rc 3; want_out 'exiting with 3\n'; want_err ''; end
begin wast-isolation-verbose; kl wast -v tests/spec/selftest.wast
want_err_has "${AUTO_ISO/kernless:/kernless wast:}"; end

# ---------- no KVM ----------
# A private mount namespace whose /dev is a fresh tmpfs holding only null,
# zero and urandom: kernless really cannot open /dev/kvm there, even on a
# host that has it. `--isolation kvm` must refuse with one line naming
# /dev/kvm; auto must fall back to the process sandbox and say why under -v.
# Needs CAP_SYS_ADMIN (make test runs as root); where unshare is refused the
# tests fail with that reason rather than pass or skip unchecked.
if unshare -m true 2>/dev/null; then
  NOKVM=(unshare -m sh -c 'mount -t tmpfs kl-nokvm /dev && mknod -m 666 /dev/null c 1 3 &&
         mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/urandom c 1 9 && exec "$@"' sh)
  begin no-kvm-isolation-kvm
  PREFIX=("${NOKVM[@]}"); kl run --isolation kvm "$W/hello.wasm"; PREFIX=()
  want_reject_rc; want_out ''; want_err_one_kl_line; want_err_has '/dev/kvm'
  end
  begin no-kvm-auto-falls-back
  PREFIX=("${NOKVM[@]}"); kl run -v "$W/hello.wasm"; PREFIX=()
  want_rc 0; want_out 'hello, world\n'; want_err_has 'kernless: isolation: process (KVM not usable: '
  want_err_has '/dev/kvm'
  end
else
  fail_now no-kvm-isolation-kvm "cannot create a mount namespace here (unshare -m refused; run as root)"
  fail_now no-kvm-auto-falls-back "cannot create a mount namespace here (unshare -m refused; run as root)"
fi

[ -n "$PASS_ISO" ] && export KERNLESS_ISOLATION=$PASS_ISO

# ---------- an interrupted compile leaves nothing ----------
# One function of 20,000 branches: gcc -O2 needs minutes for it, so the
# signal lands mid-compile. The build folder, gcc's temp files (none with
# -pipe) and the compiler processes must all be gone once kernless has died
# of the signal.
# A compile, whatever the backend: first pass only.
if kl_first_pass; then
for sig in INT TERM; do
  begin "interrupted-compile-$sig"
  mkdir -p "$TMP/slow" "$TMP/int-$sig/tmp"
  if [ ! -s "$TMP/slow/slow.wasm" ]; then
    { echo '(module (memory 1) (func (export "_start") (local $x i32) (local $y i32)'
      for i in $(seq 1 20000); do
        echo "(local.set \$x (i32.add (local.get \$x) (i32.load offset=$((i * 4 % 60000)) (local.get \$y))))(if (i32.eqz (local.get \$x)) (then (local.set \$y (i32.const $i))))"
      done; echo '))'; } >"$TMP/slow/slow.wat"
    wat2wasm "$TMP/slow/slow.wat" -o "$TMP/slow/slow.wasm"
  fi
  # gcc is the compiler slow enough to interrupt: the baseline tier (tcc)
  # finishes this module in a blink and runs it.
  KERNLESS_TIER=optimised TMPDIR=$TMP/int-$sig/tmp XDG_CACHE_HOME=$TMP/int-$sig/cache "$KL" run "$TMP/slow/slow.wasm" \
    >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  for _ in $(seq 1 100); do [ -n "$(ls "$TMP/int-$sig/tmp")" ] && break; sleep 0.05; done
  sleep 1
  kill -"$sig" "$pid"; wait "$pid"; rc=$?
  [ "$rc" -eq $((128 + $(kill -l "$sig"))) ] || bad "exit status $rc, want death by SIG$sig"
  left=$(ls -A "$TMP/int-$sig/tmp")
  [ -z "$left" ] && [ -z "$(ls "$TMP/int-$sig/cache/kernless" 2>/dev/null | grep -v '^tc-')" ] ||
    bad "left behind: $left $(ls "$TMP/int-$sig/cache/kernless" 2>/dev/null)"
  pgrep -f "$TMP/int-$sig/tmp" >/dev/null && bad "a compiler is still running"
  end
done
else
  echo "NOTE interrupted-compile: backend-independent, checked in the first backend pass"
fi

# ---------- code generation (issue 22) ----------
# Modules are built -ffreestanding, where gcc and clang treat memcpy as an opaque
# call; wasm2c bit-casts floats with memcpy(&t, &x, 8), so each f64/i64
# reinterpret was a call into the guest's memcpy (float code 5-10x slower).
# reinterpret.wat has bit-casts and NaN quieting but no memory.copy and no data
# segments: its compiled object must not refer to memcpy at all. A cc wrapper
# (KERNLESS_CC) keeps a copy of each object the compile produces.
mkdir -p "$TMP/spy"
cat >"$TMP/spy/cc" <<'SPY'
#!/bin/sh
# cc wrapper for the test: compile as asked, then keep a copy of each object made.
"$SPY_CC" "$@" || exit
while [ $# -gt 1 ]; do
  [ "$1" = -o ] && case $2 in *.o) cp "$2" "$SPY_OUT/" ;; esac
  shift
done
SPY
chmod +x "$TMP/spy/cc"
for cc in gcc clang; do
  begin "reinterpret-no-memcpy-call-$cc"
  rm -rf "$TMP/spy/$cc"; mkdir -p "$TMP/spy/$cc"
  # KERNLESS_CC is the optimised tier's compiler; the baseline's tcc has no builtins.
  KERNLESS_TIER=optimised SPY_CC=$cc SPY_OUT=$TMP/spy/$cc KERNLESS_CC=$TMP/spy/cc XDG_CACHE_HOME=$TMP/spy/cache-$cc \
    kl run "$W/reinterpret.wasm"
  want_rc 0
  if [ ! -s "$TMP/spy/$cc/m.o" ]; then
    bad "the compile left no m.o to inspect (KERNLESS_CC wrapper not used?)"
  else
    calls=$(objdump -dr "$TMP/spy/$cc/m.o" | grep -c 'memcpy')
    [ "$calls" -eq 0 ] || bad "m.o refers to memcpy $calls time(s): bit-casts are calls, not moves"
  fi
  end
done

# The baseline tier cuts C of KERNLESS_SPLIT_MIN_BYTES or more into one unit per
# core for tcc (compile/split.c); a split build must behave as the whole one. A
# tcc wrapper first in PATH records what tcc compiled, so the check sees the cut.
# (Control: with the split's "static" left on the definitions the link fails;
# without the wrapper's m0.c/m1.c lines the cut did not happen.)
mkdir -p "$TMP/tccspy"
cat >"$TMP/tccspy/tcc" <<'SPY'
#!/bin/sh
# tcc wrapper for the test: log the C files compiled, then run the real tcc.
for a in "$@"; do case $a in *.c) basename "$a" >>"$TCC_LOG" ;; esac; done
exec "$REAL_TCC" "$@"
SPY
chmod +x "$TMP/tccspy/tcc"
for m in hello divzero deeprec; do
  begin "baseline-split-same-behaviour-$m"
  LIMIT=30 KERNLESS_TIER=baseline XDG_CACHE_HOME=$TMP/tccspy/whole-$m kl run "$W/$m.wasm"
  wrc=$RC; cp "$TMP/out" "$TMP/tccspy/$m.out"
  grep -o 'kernless: .*' "$TMP/err" | sed 's/ after [0-9.]* ms//' >"$TMP/tccspy/$m.klerr"
  : >"$TMP/tccspy/$m.log"
  LIMIT=30 REAL_TCC=$(command -v tcc) PATH=$TMP/tccspy:$PATH TCC_LOG=$TMP/tccspy/$m.log KERNLESS_TIER=baseline \
    KERNLESS_SPLIT_MIN_BYTES=1 KERNLESS_CC_JOBS=2 XDG_CACHE_HOME=$TMP/tccspy/split-$m kl run "$W/$m.wasm"
  grep -qx m0.c "$TMP/tccspy/$m.log" && grep -qx m1.c "$TMP/tccspy/$m.log" ||
    bad "tcc did not compile m0.c and m1.c: $(tr '\n' ' ' <"$TMP/tccspy/$m.log")"
  want_rc "$wrc"; want_out_file "$TMP/tccspy/$m.out"
  [ "$(grep -o 'kernless: .*' "$TMP/err" | sed 's/ after [0-9.]* ms//')" = "$(cat "$TMP/tccspy/$m.klerr")" ] ||
    bad "trap line differs: $(show "$TMP/err") vs $(show "$TMP/tccspy/$m.klerr")"
  end "exit $wrc"
done

# An image records the x86-64 level it was built for (header offset 112): this
# CPU's, x86-64-v3 where it has AVX2, BMI2, FMA (and the OS saves AVX state).
isa_at() { od -An -tu4 -j112 -N4 "$1" | tr -d ' '; }
set_isa() { printf "\\x$(printf %02x "$2")\\x00\\x00\\x00" | dd of="$1" bs=1 seek=112 conv=notrunc 2>/dev/null; }
host_isa=1
if grep -qw avx2 /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo &&
   grep -qw movbe /proc/cpuinfo && grep -qw f16c /proc/cpuinfo && grep -qw abm /proc/cpuinfo; then host_isa=3; fi
begin "isa-level-recorded-in-image"; kl compile "$W/hello.wasm" -o "$TMP/isa.kimg"
want_rc 0
[ "$(isa_at "$TMP/isa.kimg")" = "$host_isa" ] || bad "image level $(isa_at "$TMP/isa.kimg"), want $host_isa"
end "level $host_isa"
# An image for a level this CPU lacks is refused in one line, not run into #UD.
# (Level 7 stands for "higher than this CPU": no CPU here lacks v3 on demand.)
begin "isa-image-for-missing-level-refused"; cp "$TMP/isa.kimg" "$TMP/isa7.kimg"; set_isa "$TMP/isa7.kimg" 7
kl run "$TMP/isa7.kimg"
want_reject_rc; want_err_one_kl_line; want_err_has "image needs ISA level 7"; want_out ''
end
# Such an image in the cache (a cache copied from another machine) is rebuilt, not refused.
begin "isa-cached-image-for-missing-level-rebuilt"
rm -rf "$TMP/isacache"; mkdir -p "$TMP/isacache"
XDG_CACHE_HOME=$TMP/isacache kl run "$W/hello.wasm"
cached=$(ls "$TMP/isacache/kernless/"*.kimg 2>/dev/null | head -n1)
if [ -z "$cached" ]; then bad "no image in the cache after a run"; else
  set_isa "$cached" 7
  XDG_CACHE_HOME=$TMP/isacache kl run "$W/hello.wasm"
  want_rc 0; want_out 'hello, world\n'
  [ "$(isa_at "$cached")" = "$host_isa" ] || bad "cached image level $(isa_at "$cached") after the run, want $host_isa"
fi
end

# ---------- compute (timing) ----------
# Expected values come from the same source built natively with gcc, and the
# 64 MiB digest was cross-checked with sha256sum over the same generated bytes.
COMPUTE_OUT='sha256(abc) = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nsha256(64 MiB) = cf008fe01ac27e643ddd790c0e6612b920f64f8f60ff653684d28f94b0d545e7\nnbody energy = -0.169311556\n'
begin compute-sha256-nbody; kl run "$W/compute.wasm"
want_rc 0; want_out "$COMPUTE_OUT"; want_err ''
end "$MS ms incl. compile"
begin compute-cached; kl run "$W/compute.wasm"
want_rc 0; want_out "$COMPUTE_OUT"; want_err ''; end "$MS ms"

echo "run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
