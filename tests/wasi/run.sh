#!/usr/bin/env bash
# run.sh - the official WASI test suite (../shared/testsuites/wasi, wasm32-wasip1) and Kernless's own sandbox-escape tests.
#
# Usage: tests/wasi/run.sh BUILD_DIR
# Runs every tests/{c,rust,assemblyscript}/testsuite/wasm32-wasip1/*.wasm of
# the suite as its doc/specification.md says (args, env, the `root` fixture
# preopened as "/", expected exit code, stdout, stderr) on a temporary copy
# of the fixtures, two tests at a time, with BUILD/kernless. Then runs the
# escape tests of tests/wasi/escape/ with BUILD/san/kernless (ASan build).
# Prints "PASS name" or "FAIL name: reason" per test and, last,
# "wasi: N passed, N failed". Exits non-zero if anything failed.
#
# Compiling the 72 modules dominates a cold run, so unless told otherwise
# modules are compiled with clang -O0 (KERNLESS_CC, KERNLESS_OPT) and the
# per-user compile cache is kept between runs.
set -u

# ---------- one suite test (run in parallel through xargs) ----------
# run_one BUILD TMP SUITE REL: writes "PASS name" or "FAIL name: ..." to TMP/res/<name>.
run_one() {
  local build=$1 tmp=$2 suite=$3 rel=$4
  local wasm=$suite/tests/$rel dir name key json spec work rc exp
  local -a args=() envs=() dirs=()
  dir=$(dirname "$wasm")
  name=$(sed -E 's|/testsuite/wasm32-wasip1/|/|; s|\.wasm$||' <<<"$rel")
  key=${name//\//__}
  json=${wasm%.wasm}.json
  work=$tmp/work/$key
  mkdir -p "$work"
  spec='{}'
  [ -f "$json" ] && spec=$(cat "$json")
  fail() { echo "FAIL $name: $*" >"$tmp/res/$key"; }
  # One jq call per test (each costs ~20 ms): normalize the legacy form into
  # the operation-based one (specification.md), then emit shell assignments.
  local vars
  vars=$(jq -r '
    (if has("operations") then . else
      {proposals: (.proposals // []), operations: ([{type: "run", args: (.args // []), env: (.env // {}), root: (.root // null)},
        {type: "wait", exit_code: (.exit_code // 0)}]
        + (if has("stdout") then [{type: "read", id: "stdout", payload: .stdout}] else [] end)
        + (if has("stderr") then [{type: "read", id: "stderr", payload: .stderr}] else [] end))} end) as $s
    | $s.operations as $o | ([$o[] | select(.type == "run")][0] // {}) as $r
    | def reads($id): [$o[] | select(.type == "read" and (.id // "stdout") == $id) | .payload // ""];
    "unsupported=\(((($s.proposals // []) | length) > 0)
                   or ([$o[] | select(.type | IN("run", "wait", "read") | not)] | length > 0)
                   or ([$o[] | select(.type == "run")] | length != 1))",
    "args=(\(($r.args // []) | map(@sh) | join(" ")))",
    "envs=(\(($r.env // {}) | to_entries | map("--env", "\(.key)=\(.value)" | @sh) | join(" ")))",
    "root=\(($r.root // "") | @sh)",
    "exp=\([$o[] | select(.type == "wait") | .exit_code // 0] | last // 0)",
    "has_stdout=\(reads("stdout") | length > 0)", "exp_stdout=\(reads("stdout") | add // "" | @sh)",
    "has_stderr=\(reads("stderr") | length > 0)", "exp_stderr=\(reads("stderr") | add // "" | @sh)"
    ' <<<"$spec") || { fail "cannot parse $json"; return; }
  local unsupported root exp has_stdout exp_stdout has_stderr exp_stderr
  eval "$vars"
  if [ "$unsupported" = true ]; then
    fail "needs proposals or operations beyond one run/wait/read (not WASI preview 1)"
    return
  fi
  if [ -n "$root" ]; then
    # A private, writable copy: the suite itself is never written to.
    cp -r "$dir/$root" "$work/root" || { fail "cannot copy fixture $root"; return; }
    find "$work/root" -name '*.cleanup' -exec rm -rf {} + 2>/dev/null
    chmod -R u+w "$work/root"
    dirs=(--dir "$work/root::/")
  fi
  (cd "$work" && "$build/kernless" run --timeout-ms 60000 "${dirs[@]}" "${envs[@]}" "$wasm" "${args[@]}" \
      </dev/null >"$work/stdout" 2>"$work/stderr")
  rc=$?
  local why="" s
  [ "$rc" = "$exp" ] || why="exit status $rc, expected $exp"
  for s in stdout stderr; do
    local has=has_$s want=exp_$s
    [ "${!has}" = true ] || continue   # not in the spec: not checked
    printf '%s' "${!want}" >"$work/$s.expected"
    cmp -s "$work/$s" "$work/$s.expected" ||
      why+="${why:+; }$s $(head -c 200 "$work/$s" | od -An -c | tr -s ' \n' ' ' | head -c 300) differs from the expected"
  done
  if [ -n "$why" ]; then
    why+="; stderr: $(head -c 300 "$work/stderr" | tr '\n' '|')"
    fail "$why"
  else
    echo "PASS $name" >"$tmp/res/$key"
  fi
}

if [ "${1:-}" = "--one" ]; then
  shift
  run_one "$@"
  exit 0
fi

BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh          # kl_backends, kl_each_backend; this suite keeps its own checks
kl_each_backend wasi    # once per backend the host has: test names end in _BACKEND
ROOT=$PWD
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
. tests/shared_dir.sh
SHARED=$(kl_shared_dir)
SUITE=$([ -n "$SHARED" ] && cd "$SHARED/testsuites/wasi" 2>/dev/null && pwd)
export KERNLESS_CC=${KERNLESS_CC:-clang} KERNLESS_OPT=${KERNLESS_OPT:-0}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

TMP=$(mktemp -d /tmp/kernless-wasi.XXXXXX)
cleanup() { chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$TMP/res" "$TMP/work"

passed=0; failed=0
report() {   # report LINE: "PASS name[ (note)]" or "FAIL name: why"; the name gets the pass's _BACKEND
  echo "$1" | sed -E "1s/^(PASS|FAIL) ([^ :]+)/\1 \2$KL_TAG/"
  case $1 in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
}

# ---------- the official suite ----------
start=$(date +%s)
if [ -z "$SUITE" ] || [ ! -d "$SUITE/tests" ]; then
  report "FAIL wasi-suite: ../shared/testsuites/wasi not found next to the project (or its origin)"
elif ! command -v jq >/dev/null; then
  report "FAIL wasi-suite: jq not found (run scripts/deps.sh)"
elif [ ! -x "$BUILD/kernless" ]; then
  report "FAIL wasi-suite: $BUILD/kernless not built"
else
  (cd "$SUITE/tests" && ls {c,rust,assemblyscript}/testsuite/wasm32-wasip1/*.wasm) >"$TMP/list"
  [ -s "$TMP/list" ] || report "FAIL wasi-suite: no tests found under $SUITE/tests"
  # Each test compiles (or finds in the cache) and runs its own module in its own fixture copy.
  xargs -P "$JOBS" -I{} bash "$ROOT/tests/wasi/run.sh" --one "$BUILD" "$TMP" "$SUITE" {} <"$TMP/list"
  while read -r rel; do
    key=$(sed -E 's|/testsuite/wasm32-wasip1/|/|; s|\.wasm$||; s|/|__|g' <<<"$rel")
    if [ -f "$TMP/res/$key" ]; then report "$(cat "$TMP/res/$key")"
    else report "FAIL ${key//__//}: the runner produced no result"; fi
  done <"$TMP/list"
fi
echo "wasi-suite: $(wc -l <"$TMP/list" 2>/dev/null || echo 0) tests in $(( $(date +%s) - start ))s (KERNLESS_CC=$KERNLESS_CC KERNLESS_OPT=$KERNLESS_OPT)"

# ---------- sandbox escape tests ----------
if [ -f "$ROOT/tests/wasi/escape.sh" ]; then
  # shellcheck source=tests/wasi/escape.sh
  . "$ROOT/tests/wasi/escape.sh"
fi

echo "wasi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
