#!/usr/bin/env bash
# run_all.sh - run every test suite and print one overall "N passed, N failed, N skipped" line.
#
# Each suite is a script tests/<suite>/run.sh taking the build dir. It prints
# its own lines and, as its last line, "<suite>: N passed, N failed" or
# "<suite>: N passed, N failed, N skipped". This script sums those lines and
# exits non-zero if anything failed. Nothing counts as green by accident:
#   - a suite that exits non-zero without a count line counts as one failure,
#     and one that exits non-zero reporting no failure counts one;
#   - a suite that reports nothing at all (0 passed, 0 failed, 0 skipped)
#     counts as one failure;
#   - a suite whose shell reported an error of its own (an unset variable,
#     a syntax error, a misspelt command: "run.sh: line N: ..."), even in a
#     subshell that let it go on, counts as one failure: its checks did not
#     all run as written (suites on tests/lib.sh also count
#     suite_died_midway when they stop);
#   - a skip must say why: a suite that reports skips without a reason line
#     ("SKIP <name>: <reason>", or spec's "skipped: <reason>") counts as one
#     failure. A suite that cannot run on this machine at all (say, it needs
#     a backend the machine lacks) calls kl_skip_suite (tests/lib.sh).
# The reasons of whole-suite skips are repeated just above the final line.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
# Where the suites are: tests/, or another folder of <suite>/run.sh (the
# unit suite's selftest runs deliberately broken suites through this script).
SUITES_DIR=${SUITES_DIR:-tests}
total_p=0; total_f=0; total_s=0; skips=()
SUITES=${SUITES:-"layers unit run wasi spec server tiers lang dashboard dx pool hostile escape kvm bombs crash fuzz cluster outbound"}
for s in $SUITES; do
  [ -x "$SUITES_DIR/$s/run.sh" ] || { echo "suite $s: missing $SUITES_DIR/$s/run.sh"; total_f=$((total_f+1)); continue; }
  echo "=== suite: $s"
  log=$(mktemp)
  start=$(date +%s)
  bash "$SUITES_DIR/$s/run.sh" "$BUILD" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E "^$s: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?\$" "$log" | tail -n 1)
  reasons=$(grep -cE "^SKIP [^ ]+: .|skipped: ." "$log")
  shell_err=$(grep -m1 -E "\.sh: line [0-9]+: .*(unbound variable|syntax error|bad substitution|unexpected end of file|command not found)" "$log")
  while IFS= read -r l; do skips+=("$l"); done < <(grep -E "^SKIP $s: ." "$log")
  rm -f "$log"
  if [ -z "$line" ]; then
    echo "suite $s: exited $rc without a count line"
    total_f=$((total_f+1)); continue
  fi
  read -r p f sk < <(echo "$line" | sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\1 \2 \4/')
  sk=${sk:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "suite $s: exited $rc but reported no failure; counting one"
    f=1
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$sk" -eq 0 ]; then
    echo "suite $s: reported no check at all; counting one failure"
    f=1
  fi
  if [ -n "$shell_err" ]; then
    echo "suite $s: its shell reported an error ($shell_err); counting one failure"
    f=$((f+1))
  fi
  if [ "$sk" -gt 0 ] && [ "$reasons" -eq 0 ]; then
    echo "suite $s: reported $sk skipped without saying why (SKIP lines); counting one failure"
    f=$((f+1))
  fi
  echo "=== suite $s: $p passed, $f failed, $sk skipped ($(( $(date +%s) - start ))s)"
  total_p=$((total_p+p)); total_f=$((total_f+f)); total_s=$((total_s+sk))
done
[ ${#skips[@]} -gt 0 ] && printf '%s\n' "skipped suites:" "${skips[@]/#/  }"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
