#!/usr/bin/env bash
# run.sh - the KVM backend end to end: natively where /dev/kvm exists, else inside the emulated machine of scripts/kvm-vm.sh.
#
# Usage: tests/kvm/run.sh BUILD. Last line: "kvm: N passed, N failed".
#
# Everything that compiles happens here, on the host: the test programs
# (tests/run/progs, tests/pool/fn, tests/server/fn, examples/wagi-hello) are
# built to wasm and then to .kimg images with BUILD/kernless (kept in
# BUILD/kvm-progs/, rebuilt when a source is newer); the server's functions
# are deployed once to a host data folder with the process backend, so the
# server inside finds their images compiled; and the spec files run once here
# with the process backend, filling the cache the run inside reads. Only the
# runs happen inside (tests/kvm/inner.sh), all in ONE boot of the emulated
# machine, with `--isolation kvm` and the plain build (ASan under TCG is slow).
# KVM_TEST_NATIVE=1 / KVM_TEST_VM=1 force one way. Natively, where the
# VM-dependent suites run a kvm pass of their own (tests/lib.sh's
# kl_backends has kvm), only the checks they lack run here: timing, big
# stdin, clocks, --repeat's warm reset and the escape image (inner.sh says
# which sections it leaves to them).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
export KERNLESS_BIN=${KERNLESS_KVM_BIN:-}
[ -n "$KERNLESS_BIN" ] || { case "$BUILD" in /*) KERNLESS_BIN=$BUILD/kernless ;; *) KERNLESS_BIN=$PWD/$BUILD/kernless ;; esac; }
. tests/lib.sh
. tests/shared_dir.sh
T_START=$(date +%s)
P=$BUILD/kvm-progs          # wasm and kimg, kept between runs
CACHE=$BUILD/kvm-cache      # compile cache, server images, spec cache, kept between runs
W=$(mktemp -d /tmp/kernless-kvm.XXXXXX)   # this run; visible (and writable) inside the VM
mkdir -p "$P" "$CACHE/xdg" "$CACHE/images" "$CACHE/spec"
export XDG_CACHE_HOME=$CACHE/xdg
unset KERNLESS_TOKEN KERNLESS_ISOLATION
finish() {
  kl_stop
  rm -rf "$W"
  kl_finish kvm
  exit $?
}
trap finish EXIT

[ -x "$KL" ] || { fail binary "no $KL (run make)"; exit 1; }

# ---- which way ----------------------------------------------------------------------
MODE=vm
if [ "${KVM_TEST_VM:-0}" != 1 ] && { [ "${KVM_TEST_NATIVE:-0}" = 1 ] || [ -w /dev/kvm ]; }; then MODE=native; fi
# Natively, where the VM-dependent suites run a kvm pass of their own
# (kl_backends has kvm), this suite keeps only what they do not check
# (tests/kvm/inner.sh, KVM_NATIVE_COVERED): no host deploys or spec files.
COVERED=0
[ $MODE = native ] && case " $(kl_backends) " in *" kvm "*) COVERED=1 ;; esac
echo "kvm suite: $([ $MODE = native ] && echo "native, /dev/kvm" || echo "inside the emulated machine of scripts/kvm-vm.sh (no usable /dev/kvm here)")$([ $COVERED = 1 ] && echo "; only the checks the suites' kvm passes lack")"

# ---- build the programs and their images (host) ------------------------------------------
# build SRC NAME: $P/NAME.wasm and $P/NAME.kimg, unless both are newer than SRC.
bad=
build() {
  local src=$1 name=$2 w=$P/$2.wasm k=$P/$2.kimg
  if [ ! "$w" -nt "$src" ]; then
    case $src in
      *.c)   clang --target=wasm32-wasi -O2 "$src" -o "$w.tmp" -Wl,--strip-debug ;;
      *.rs)  /usr/bin/rustc --target wasm32-wasi -O -C strip=debuginfo "$src" -o "$w.tmp" ;;
      *.wat) wat2wasm "$src" -o "$w.tmp" ;;
    esac >>"$W/build.log" 2>&1 && mv -f "$w.tmp" "$w" || { rm -f "$w.tmp"; bad="$bad $name"; return; }
  fi
  if [ ! "$k" -nt "$w" ] || [ ! "$k" -nt "$KL" ]; then
    "$KL" compile "$w" -o "$k" >>"$W/build.log" 2>&1 || { rm -f "$k"; bad="$bad $name.kimg"; }
  fi
}
for f in hello args env exit stdio cat clocks random bigmem maxmem deeprec divzero sleeper; do
  build tests/run/progs/$f.c $f
done
for f in traps loop memgrow growlimit; do build tests/run/progs/$f.wat $f; done
build tests/run/progs/panic_rs.rs panic_rs
for f in counter secret grow; do build tests/pool/fn/$f.c $f; done
build examples/wagi-hello/hello.c whello
build tests/server/fn/trap.c strap
build tests/server/fn/loop.c sloop
# The escape image of tests/escape (code that left the Wasm sandbox), built
# the way tests/escape/run.sh builds it: freestanding, linked with the guest
# linker script, converted by the project's own ELF-to-.kimg code.
if [ -f tests/escape/escape.c ] && { [ ! "$P/escape.kimg" -nt tests/escape/escape.c ] || [ ! "$P/escape.kimg" -nt "$KL" ]; }; then
  OBJS="$BUILD/obj/src/compile/kimg_write.o $BUILD/obj/src/common/util.o $BUILD/obj/src/common/err.o"
  { gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude -Isrc tests/escape/mkimg.c $OBJS -lnettle -o "$P/mkimg" &&
    gcc -std=gnu11 -O1 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie -no-pie -nostdlib \
      -static -fno-stack-protector -mno-red-zone -fno-asynchronous-unwind-tables -fcf-protection=none \
      -Iinclude -Wl,-T,"$BUILD/guest/guest.ld" -Wl,--build-id=none tests/escape/escape.c -o "$P/escape.elf" &&
    "$P/mkimg" "$P/escape.elf" "$P/escape.kimg"; } >>"$W/build.log" 2>&1 || { rm -f "$P/escape.kimg"; bad="$bad escape.kimg"; }
fi
if [ -z "$bad" ]; then pass "host_build_images"
else fail "host_build_images" "$bad: $(tail -c 300 "$W/build.log" | tr '\n' ' ')"; exit 1; fi

if [ $COVERED = 0 ]; then
# ---- the server's functions, deployed once on the host (compiled here) ----------------------
mkdir -p "$W/hostdata/images" && chmod 700 "$W/hostdata" "$W/hostdata/images"
cp "$CACHE/images/"*.kimg "$W/hostdata/images/" 2>/dev/null
kl_serve "$W/hserve.out" "$W/hserve.err" --data "$W/hostdata" --isolation process
if [ -z "$PORT" ]; then fail "host_deploy" "host server did not start: $(tail -c 300 "$W/hserve.err")"; exit 1; fi
KERNLESS_DATA=$W/hostdata
export KERNLESS_DATA
ok=1
for f in whello counter secret grow strap sloop; do
  "$KL" deploy "$f" "$P/$f.wasm" --route "/$f" >>"$W/hdeploy.log" 2>&1 || ok=0
done
kl_stop
cp -n "$W/hostdata/images/"*.kimg "$CACHE/images/" 2>/dev/null
[ $ok = 1 ] && pass "host_deploy_functions" || fail "host_deploy_functions" "$(tail -c 300 "$W/hdeploy.log")"

# ---- ten spec files, once on the host with the process backend (fills the cache) -----------
SPEC=$(kl_shared_dir)/testsuites/spec
SPECS=
for f in i32 i64 f64 conversions address memory_grow call_indirect traps skip-stack-guard-page left-to-right; do
  [ -f "$SPEC/$f.wast" ] && SPECS="$SPECS $SPEC/$f.wast"
done
if [ -n "$SPECS" ]; then
  # shellcheck disable=SC2086
  "$KL" wast -j2 --isolation process --cache-dir "$CACHE/spec" $SPECS >"$W/spec-host.log" 2>&1
  tail -n 1 "$W/spec-host.log" >"$W/spec-host.total"
  echo "$SPECS" >"$W/spec-files"
  echo "spec files on the host (process backend): $(cat "$W/spec-host.total")"
else
  fail "spec_files" "no spec test suite beside the project (../shared/testsuites/spec)"
fi
fi
echo "host side ready in $(( $(date +%s) - T_START )) s"

# ---- the runs, with KVM ------------------------------------------------------------------
INNER=(env KERNLESS_BIN="$KL" CACHE="$CACHE" KVM_NATIVE_COVERED=$COVERED bash tests/kvm/inner.sh "$P" "$W")
if [ $MODE = native ]; then
  "${INNER[@]}" 2>&1 | tee "$W/inner.log"
else
  KVM_VM_TIMES=1 timeout -s KILL 420 scripts/kvm-vm.sh --timeout 330 -- "${INNER[@]}" 2>&1 | tee "$W/inner.log"
fi
rc=${PIPESTATUS[0]}
line=$(grep -E '^kvm-inner: [0-9]+ passed, [0-9]+ failed' "$W/inner.log" | tail -n 1)
if [ -z "$line" ]; then
  fail "inner" "the run with KVM exited $rc without a count line"
else
  ip=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); if_=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  is=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
  passed=$((passed + ip)); failed=$((failed + if_)); skipped=$((skipped + ${is:-0}))
  [ "$rc" -ne 0 ] && [ "$if_" -eq 0 ] && fail "inner" "exited $rc but reported no failure"
fi
echo "kvm suite took $(( $(date +%s) - T_START )) s ($MODE)"

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
