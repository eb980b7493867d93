#!/usr/bin/env bash
# run_all.sh - run every test suite and print one overall "N passed, N failed" line.
#
# Each suite is a script tests/<suite>/run.sh taking the build dir. It prints
# its own lines and, as its last line, "<suite>: N passed, N failed". This
# script sums those lines; a suite that exits non-zero without a count line
# counts as one failure, so a crashing suite can never look green.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
total_p=0; total_f=0
SUITES=${SUITES:-"unit run wasi spec server pool hostile bombs crash fuzz"}
for s in $SUITES; do
  [ -x "tests/$s/run.sh" ] || { echo "suite $s: missing tests/$s/run.sh"; total_f=$((total_f+1)); continue; }
  echo "=== suite: $s"
  log=$(mktemp)
  start=$(date +%s)
  bash "tests/$s/run.sh" "$BUILD" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  rm -f "$log"
  if [ -z "$line" ]; then
    echo "suite $s: exited $rc without a count line"
    total_f=$((total_f+1)); continue
  fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/')
  f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "suite $s: exited $rc but reported no failure; counting one"
    f=1
  fi
  echo "=== suite $s: $p passed, $f failed ($(( $(date +%s) - start ))s)"
  total_p=$((total_p+p)); total_f=$((total_f+f))
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
