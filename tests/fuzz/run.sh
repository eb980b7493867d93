#!/usr/bin/env bash
# run.sh - build every libFuzzer target in tests/fuzz/targets with clang, replay its regressions and fuzz it briefly (or long).
#
#   tests/fuzz/run.sh BUILD          smoke run (part of make test): a few seconds per target
#   tests/fuzz/run.sh BUILD long     FUZZ_SECONDS (default 60) per target (make fuzz)
#
# Each target fuzzes a copy of tests/fuzz/corpus/<target>/ in BUILD/fuzz/corpus/,
# so new inputs never dirty the tree. One check per target: it builds, every
# file in tests/fuzz/regressions/<target>/ replays cleanly, and the run ends
# without a crash (a crash leaves its input in BUILD/fuzz/crashes/<target>/).
# A target with `mincov=N` in `targets` must also end with at least N
# covered edges: a corpus that stops at an early check (fuzz_image's seeds
# once carried a stale ABI version: 14 edges, the version check) fuzzes
# nothing, and that fails.
# Last line: "fuzz: N passed, N failed".
set -u
BUILD=${1:-build}
MODE=${2:-smoke}
cd "$(dirname "$0")/../.."
out=$BUILD/fuzz; mkdir -p "$out/bin" "$out/corpus" "$out/crashes"
SECS=${FUZZ_SECONDS:-60}
# fuzz_wasi_fs works on real files: a sandbox folder it recreates at start.
export KL_FUZZ_FS_DIR="$(cd "$out" && pwd)/fs-sandbox"
CFLAGS="-std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unknown-warning-option -Wno-format-truncation -D_GNU_SOURCE -Iinclude -Isrc"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ "$MODE" = long ]; then budget="-max_total_time=$SECS"; else budget="-max_total_time=4 -runs=20000"; fi
passed=0; failed=0

# The ABI version this tree builds (the macro itself, through the
# preprocessor), as 4 little-endian bytes for printf.
abi=$(printf '#include "kernless/abi.h"\nKL_ABI_VERSION\n' | cpp -P -Iinclude - | tail -n1 | tr -dc '0-9')
abi_le=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((abi & 255)) $((abi >> 8 & 255)) $((abi >> 16 & 255)) $((abi >> 24 & 255)))

# reseed_images DIR: fuzz_image's seeds (a mode byte, then an image) get this
# build's ABI version, so they pass the version check and reach the hash,
# segment and entry checks behind it. The hash covers only what follows the
# header, so a valid seed stays valid.
# Patching the version alone goes stale as soon as the header's layout
# changes (its size is checked next: 15 edges), so two seeds are also made
# afresh from an image this build compiles: one passed as is (mode 0), one
# rehashed (mode 1).
reseed_images() {
  local f
  for f in "$1"/*; do
    [ "$(head -c 9 "$f" | tail -c 8 | od -An -c | tr -d ' ')" = 'KLIMG\0\0\0' ] || continue
    printf "$abi_le" | dd of="$f" bs=1 seek=9 conv=notrunc status=none
  done
  printf '(module (memory 1) (func (export "_start")))' >"$out/seed.wat"
  if wat2wasm "$out/seed.wat" -o "$out/seed.wasm" 2>"$out/seed.log" &&
     "$BUILD/kernless" compile "$out/seed.wasm" -o "$out/seed.kimg" 2>>"$out/seed.log"; then
    { printf '\x00'; cat "$out/seed.kimg"; } >"$1/fresh-mode0"
    { printf '\x01'; cat "$out/seed.kimg"; } >"$1/fresh-mode1"
  else
    echo "fuzz_image: no fresh seed image: $(head -c 300 "$out/seed.log")"
  fi
}

while read -r name rest; do
  case "$name" in ''|'#'*) continue;; esac
  srcs=""; libs=""; mincov=0
  for w in $rest; do case "$w" in -l*) libs="$libs $w";; mincov=*) mincov=${w#mincov=};; *) srcs="$srcs $w";; esac; done
  if ! nice clang $CFLAGS $SAN "tests/fuzz/$name.c" $srcs -o "$out/bin/$name" $libs 2>"$out/$name.build.log"; then
    echo "FAIL $name: does not build"; head -20 "$out/$name.build.log"
    failed=$((failed+1)); continue
  fi
  reg=tests/fuzz/regressions/$name
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    if ! "$out/bin/$name" "$reg"/* >"$out/$name.regress.log" 2>&1; then
      echo "FAIL $name: a regression input crashes again"; tail -30 "$out/$name.regress.log"
      failed=$((failed+1)); continue
    fi
  fi
  rm -rf "$out/corpus/$name"; mkdir -p "$out/corpus/$name" "$out/crashes/$name"
  cp tests/fuzz/corpus/$name/* "$out/corpus/$name/" 2>/dev/null
  [ "$name" = fuzz_image ] && reseed_images "$out/corpus/$name"
  start=$(date +%s)
  # -rss_limit_mb: the parsers cap every allocation, so more is a bug.
  if nice "$out/bin/$name" $budget -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$out/crashes/$name/" "$out/corpus/$name" >"$out/$name.log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out/$name.log" | grep -Eo '[0-9]+$')
    cov=$(grep -Eo ' cov: [0-9]+' "$out/$name.log" | tail -n1 | grep -Eo '[0-9]+')
    if [ "${cov:-0}" -lt "$mincov" ]; then
      echo "FAIL $name: ${cov:-no} edges covered, want at least $mincov (the corpus stops at an early check)"
      failed=$((failed+1)); continue
    fi
    echo "ok   $name: ${runs:-?} runs in $(( $(date +%s) - start ))s, no crash, ${cov:-?} edges (floor $mincov)"
    passed=$((passed+1))
  else
    echo "FAIL $name: crashed; input in $out/crashes/$name/"; grep -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | head -5
    failed=$((failed+1))
  fi
done < tests/fuzz/targets
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
