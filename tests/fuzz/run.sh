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
while read -r name rest; do
  case "$name" in ''|'#'*) continue;; esac
  srcs=""; libs=""
  for w in $rest; do case "$w" in -l*) libs="$libs $w";; *) srcs="$srcs $w";; esac; done
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
  start=$(date +%s)
  # -rss_limit_mb: the parsers cap every allocation, so more is a bug.
  if nice "$out/bin/$name" $budget -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$out/crashes/$name/" "$out/corpus/$name" >"$out/$name.log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out/$name.log" | grep -Eo '[0-9]+$')
    echo "ok   $name: ${runs:-?} runs in $(( $(date +%s) - start ))s, no crash"
    passed=$((passed+1))
  else
    echo "FAIL $name: crashed; input in $out/crashes/$name/"; grep -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | head -5
    failed=$((failed+1))
  fi
done < tests/fuzz/targets
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
