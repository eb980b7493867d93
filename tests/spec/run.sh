#!/usr/bin/env bash
# run.sh - the WebAssembly spec test suite through `kernless wast`; fails if any check that can run fails.
#
#   tests/spec/run.sh BUILD
#
# Runs every .wast of ../shared/testsuites/spec (read only, never copied):
# the SIMD scripts separately, because wasm2c 1.0.32 cannot compile SIMD, so
# most of their commands are skipped (each with its reason; the other
# commands in them run for real). First a self-test proves the runner
# reports wrong expectations. Compiled objects and images are cached in
# $XDG_CACHE_HOME/kernless (or ~/.cache/kernless), so repeated runs are fast.
# Skips are allowed only for the reasons listed per group (skip_policy), and
# the text-format skips must equal the (module quote ...) forms in the files:
# a new reason, or more skips than that, is a failure, not a quiet skip.
# Both groups run on every backend of kl_backends (--isolation); the compile
# cache makes the second pass cost only its runs. A backend the host lacks is
# reported as a skip with its reason.
# Last line: "spec: N passed, N failed, N skipped".
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. tests/lib.sh          # kl_backends (this suite keeps its own counts)
. tests/shared_dir.sh
SPEC=$(kl_shared_dir)/testsuites/spec
JOBS=${SPEC_JOBS:-2}
KL=$BUILD/kernless
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

bail() { echo "spec: $1"; echo "spec: 0 passed, 1 failed, 0 skipped"; exit 1; }
[ -x "$KL" ] || bail "$KL is missing (run make)"
[ -d "$SPEC" ] || bail "no spec test suite at $SPEC"

# 1. The runner must catch wrong expectations: selftest.wast has exactly 7.
"$KL" wast --timeout-ms 2000 tests/spec/selftest.wast > "$log/self" 2>&1
self=$(tail -n 1 "$log/self")
self_failed=0
if [ "$self" != "18 passed, 7 failed, 0 skipped" ]; then
  echo "FAIL spec self-test: expected \"18 passed, 7 failed, 0 skipped\", got \"$self\""
  cat "$log/self"
  self_failed=1
fi

# 2. The suite, in two groups.
nonsimd=(); simd=()
for f in "$SPEC"/*.wast; do
  case $(basename "$f") in simd_*) simd+=("$f") ;; *) nonsimd+=("$f") ;; esac
done
[ ${#nonsimd[@]} -gt 0 ] || bail "no .wast files in $SPEC"

# The skip reasons each group allows (extended regexes over the reason text).
TEXT_SKIP='text-format module: wast2json leaves \(module quote \.\.\.\) as text, and Kernless reads binary modules only'
SIMD_SKIP='a v128 value \(SIMD\), which wasm2c 1\.0\.32 cannot compile|module uses SIMD (\(v128\)|instructions), which (Kernless does not support|wasm2c 1\.0\.32 cannot compile)'
declare -A ALLOWED=(
  [non-SIMD]="^($TEXT_SKIP)\$"
  [SIMD]="^($TEXT_SKIP|$SIMD_SKIP|imports from a skipped module \(($SIMD_SKIP)\))\$"
)
policy_failed=0

# skip_policy NAME FILES...: every skip in group NAME's log has an allowed
# reason, and the text-format skips are exactly the files' (module quote)
# forms; for non-SIMD, they are all its skips.
skip_policy() {
  local name=$1; shift
  local reasons=$log/$name.reasons bad quotes text total before=$policy_failed
  sed -nE 's/^[^:]+:[0-9]+: skipped: (.*)$/\1/p' "$log/$name" > "$reasons"
  bad=$(grep -vE "${ALLOWED[$name]}" "$reasons" | sort | uniq -c | head -n 5)
  if [ -n "$bad" ]; then
    echo "FAIL spec ($name) skips_allowed_reasons_only: skips for a reason this group does not allow:"
    echo "$bad"
    policy_failed=$((policy_failed + 1))
  fi
  quotes=$(cat "$@" | grep -aoE '\(module( \$[^ ]+)? quote' | wc -l)
  text=$(grep -cE "^($TEXT_SKIP)\$" "$reasons")
  total=$(wc -l < "$reasons")
  if [ "$text" -ne "$quotes" ]; then
    echo "FAIL spec ($name) text_skips_are_quote_modules: $text text-format skips, but the files have $quotes (module quote) forms"
    policy_failed=$((policy_failed + 1))
  fi
  if [ "$name" = non-SIMD ] && [ "$total" -ne "$quotes" ]; then
    echo "FAIL spec ($name) skips_are_quote_modules: $total skips, but only the $quotes (module quote) forms may skip"
    policy_failed=$((policy_failed + 1))
  fi
  [ "$policy_failed" -eq "$before" ] &&
    echo "spec ($name): $total skips, all for allowed reasons ($text text-format = the files' (module quote) forms)"
}

# group NAME ISO FILES...: run on backend ISO, show failures, print the
# group's totals.
group() {
  local name=$1 iso=$2; shift 2
  local start=$(date +%s)
  nice "$KL" wast -v -j"$JOBS" --isolation "$iso" "$@" > "$log/$name" 2>&1
  local rc=$?
  # Failure lines (all of them are in the log; the first 300 are shown).
  grep -vE ': skipped: |^[^ :]+\.wast: [0-9]+ passed|^kernless wast: |^[0-9]+ passed, ' \
    "$log/$name" > "$log/$name.fail"
  head -n 300 "$log/$name.fail"
  local nfail=$(wc -l < "$log/$name.fail")
  [ "$nfail" -gt 300 ] && echo "... and $((nfail - 300)) more failure lines"
  local line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log/$name" | tail -n 1)
  if [ -z "$line" ]; then
    echo "spec ($name): kernless wast exited $rc without totals"
    line="0 passed, 1 failed, 0 skipped"
  fi
  echo "spec ($name on $iso, $# files, $(( $(date +%s) - start ))s): $line"
  echo "$line" > "$log/$name.$iso.total"
  # Why commands were skipped, most common first.
  sed -nE 's/^[^:]+:[0-9]+: skipped: (.*)$/\1/p' "$log/$name" | sed -E 's/\(line [0-9]+\)//' |
    sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    skipped: /'
  skip_policy "$name" "$@"
}

for iso in $(kl_backends); do
  group non-SIMD "$iso" "${nonsimd[@]}"
  [ ${#simd[@]} -gt 0 ] && group SIMD "$iso" "${simd[@]}"
done
kl_backends_missing spec

p=0; f=$((self_failed + policy_failed)); s=$skipped
for t in "$log"/*.total; do
  read -r tp _ tf _ ts _ < <(tr -d ',' < "$t")
  p=$((p + tp)); f=$((f + tf)); s=$((s + ts))
done
echo "spec: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
