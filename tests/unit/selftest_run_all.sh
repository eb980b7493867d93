#!/usr/bin/env bash
# selftest_run_all.sh - deliberately broken suites, run through tests/run_all.sh, must count as failed (and a whole one as passed).
#
# Guards "a suite that dies midway counts as green": a suite on tests/lib.sh
# that stops at an unset variable, a syntax error or a stray exit used to
# print "N passed, 0 failed" from its EXIT trap and count green. Each case is
# a tiny suite in a temporary folder (SUITES_DIR), run by run_all.sh; the
# control is the same suite, whole, which must count green (so the cases
# fail for what they break, not for being run this way).
# Prints one line per case and "selftest_run_all: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
passed=0; failed=0

# suite NAME BODY: $T/NAME/run.sh, a lib.sh suite whose middle is BODY.
suite() {
  mkdir -p "$T/$1"
  cat >"$T/$1/run.sh" <<SUITE
#!/usr/bin/env bash
set -u
BUILD=\${1:-build}
cd "$ROOT"
. tests/lib.sh
finish() { kl_finish $1; exit \$?; }
trap finish EXIT
pass first
$2
pass last
kl_end
SUITE
  chmod +x "$T/$1/run.sh"
}

# expect NAME green|red: run_all.sh's verdict on suite NAME.
expect() {
  local out rc got
  out=$(SUITES_DIR=$T SUITES=$1 bash tests/run_all.sh build 2>&1); rc=$?
  if [ $rc -eq 0 ] && [[ $(echo "$out" | tail -n1) == *" 0 failed, "* ]]; then got=green; else got=red; fi
  if [ "$got" = "$2" ]; then echo "PASS $1"; passed=$((passed+1))
  else echo "FAIL $1: run_all.sh counted it $got, want $2:"; echo "$out" | tail -n 5; failed=$((failed+1)); fi
}

suite whole 'echo fine'
suite died_unset_variable 'echo "$not_set_anywhere"'
suite died_syntax_error 'if then fi'
suite died_stray_exit 'exit 0'
suite died_exit_status 'false || exit 3'
suite unset_in_subshell 'x=$(echo "$not_set_anywhere"); echo "$x"'
suite misspelt_check 'pas middle'
# server pasted exit codes into the string it searched: a command that had
# to fail passed when it exited 0 with the right words.
suite check_err_exit_0 'check_err cli_401 0 "HTTP 401" "kernless: ls: HTTP 401: unauthorized"'
suite check_err_exit_1 'check_err cli_401 1 "HTTP 401" "kernless: ls: HTTP 401: unauthorized"'
# kl_each_backend: a pass that dies counts, and the check names carry the backend.
suite each_backend_whole 'kl_each_backend each_backend_whole'
suite each_backend_pass_dies 'kl_each_backend each_backend_pass_dies
[ "$KL_ISO" = process ] && echo "$not_set_anywhere"'
expect whole green
expect check_err_exit_1 green
KL_BACKENDS="kvm process" expect each_backend_whole green
KL_BACKENDS="kvm process" expect each_backend_pass_dies red
for s in died_unset_variable died_syntax_error died_stray_exit died_exit_status unset_in_subshell misspelt_check check_err_exit_0; do expect $s red; done
echo "selftest_run_all: $passed passed, $failed failed"
[ $failed -eq 0 ]
