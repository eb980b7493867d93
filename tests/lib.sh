# lib.sh - shared by the suites that drive a real `kernless serve`: which binary, the check helpers, starting a server.
#
# Source it from a suite's run.sh after `cd` to the project root, with
# BUILD set. It sets ROOT, makes BUILD absolute and picks KL: KERNLESS_BIN,
# else BUILD/san/kernless (ASan/UBSan) when built, else BUILD/kernless.
# The counters `passed`, `failed` and `skipped` feed the suite's last line,
# which kl_finish prints. PASS_QUIET=1 keeps passing checks off the output (for
# suites with hundreds of them); failures are always printed.
# A suite that ends through an EXIT trap calling kl_finish must call kl_end as
# its last line: without that mark kl_finish counts the failure
# suite_died_midway (an unset variable, a syntax error or a stray exit would
# otherwise end the suite "green" with the checks it reached).

ROOT=$PWD
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KL=${KERNLESS_BIN:-}
if [ -z "$KL" ]; then
  if [ -x "$BUILD/san/kernless" ]; then KL=$BUILD/san/kernless; else KL=$BUILD/kernless; fi
fi
passed=0; failed=0; skipped=0
SPID=; PORT=; U=; ADMIN=
KL_REACHED_END=; KL_LINE=0; KL_STATUS=
# The last top-level line run and, in the EXIT trap (whose command bash
# numbers line 1, never a command of a suite: its shebang), the status the
# shell was exiting with: suite_died_midway's message. Bash restores $? around
# this trap, so the suites' own checks are unaffected.
trap 'KL_RC=$?; if [ "$LINENO" = 1 ]; then KL_STATUS=${KL_STATUS:-$KL_RC}; else KL_LINE=$LINENO; fi' DEBUG

# In a pass of kl_each_backend, every check name ends in _BACKEND.
KL_TAG=${KL_ISO:+_$KL_ISO}
pass() { [ "${PASS_QUIET:-0}" = 1 ] || echo "PASS $1$KL_TAG"; passed=$((passed+1)); }
fail() { echo "FAIL $1$KL_TAG: $2"; failed=$((failed+1)); }
# skip NAME REASON: a check this machine cannot make; the reason is required
# (tests/run_all.sh fails a suite that reports skips without one).
skip() { echo "SKIP $1$KL_TAG: ${2:?skip needs a reason}"; skipped=$((skipped+1)); }
# check NAME EXPECTED ACTUAL: equality
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$(echo "$3" | head -c 300)'"; fi; }
# check_has NAME NEEDLE HAYSTACK: substring
check_has() { case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "expected to contain '$2', got '$(echo "$3" | head -c 300)'" ;; esac; }
# check_err NAME RC NEEDLE OUTPUT: a command that must fail: RC (its exit
# status) is not 0 and OUTPUT contains NEEDLE.
check_err() {
  if [ "$2" -ne 0 ]; then check_has "$1" "$3" "$4"
  else fail "$1" "exited 0, want a failure saying '$3'; said '$(echo "$4" | head -c 300)'"; fi
}

# kl_serve OUT ERR [serve args...]: start `kernless serve` on 127.0.0.1:0 in
# the background (environment prefixes of the caller apply), with its admin
# listener on 127.0.0.1:0 unless the arguments name an --admin-listen, and
# wait for its listening line. Sets SPID, PORT (the function listener's),
# APORT (the admin listener's), U (where functions are served) and ADMIN
# (where the management API /v1, /metrics and the dashboard /_/ are served)
# and exports KERNLESS_URL (the CLI's server, i.e. ADMIN); PORT is empty if
# it never came up (ERR says why). Tests send function requests to $U and
# management requests to $ADMIN, never the other way round.
kl_serve() {
  local out=$1 err=$2 a admin=(--admin-listen 127.0.0.1:0) line
  shift 2
  for a in "$@"; do [ "$a" = --admin-listen ] && admin=(); done
  : >"$out"
  "$KL" serve --listen 127.0.0.1:0 "${admin[@]}" "$@" >"$out" 2>>"$err" &
  SPID=$!
  PORT= APORT=
  for _ in $(seq 1 150); do
    line=$(grep -m1 ' serving ' "$out" 2>/dev/null)
    kl_listen_ports "$line"
    [ -n "$PORT" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  export KERNLESS_URL=http://127.0.0.1:$APORT
  U=http://127.0.0.1:$PORT
  ADMIN=$KERNLESS_URL
}

# kl_listen_ports LINE: PORT and APORT from serve's listening line ("serving
# N function(s) on http://H:P, admin API and dashboard on http://H:P (...");
# both empty unless the line has both.
kl_listen_ports() {
  PORT=$(printf '%s\n' "$1" | sed -n 's/.* on http:\/\/[^ ]*:\([0-9]*\), admin .*/\1/p')
  APORT=$(printf '%s\n' "$1" | sed -n 's/.* dashboard on http:\/\/[^ ]*:\([0-9]*\) .*/\1/p')
  [ -n "$APORT" ] || PORT=
}

# kl_backends: the isolation backends this host offers, one word each
# ("kvm process" where /dev/kvm can be opened, else "process"). The
# VM-dependent suites run their checks once per word, with --isolation.
kl_backends() {
  if [ "${KL_BACKENDS:-}" ]; then echo "$KL_BACKENDS"; return; fi
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo "kvm process"; else echo "process"; fi
}

# kl_backends_missing SUITE: one `skip SUITE_BACKEND REASON` for each backend
# that kl_backends leaves out, so a host without /dev/kvm reports the KVM half
# of a VM-dependent suite as skipped, with the reason, instead of dropping it.
kl_backends_missing() {
  local b have
  have=" $(kl_backends) "
  for b in kvm process; do
    case $have in *" $b "*) continue ;; esac
    if [ "${KL_BACKENDS:-}" ]; then skip "$1_$b" "KL_BACKENDS=$KL_BACKENDS leaves the $b backend out"
    else skip "$1_$b" "no usable /dev/kvm on this host (tests/kvm runs the KVM backend in an emulated machine)"; fi
  done
}

# kl_each_backend SUITE: run this whole suite once per backend of
# kl_backends, then exit with their sum. Call it after sourcing lib.sh and
# before `trap finish EXIT`. Each pass is tests/SUITE/run.sh BUILD run again
# from the project root (SUITES_DIR as in tests/run_all.sh), with
# KL_ISO=BACKEND (its check names end in _BACKEND) and, unless the backend is
# what auto picks here (then the pass also checks auto),
# KERNLESS_ISOLATION=BACKEND, which serve and run follow.
# Inside a pass it returns at once. A pass that ends without its count line
# counts one failure; the backends the host lacks are reported as skipped.
# KL_EACH_TMP names a folder all passes share (removed at the end); KL_PASS
# numbers the passes (kl_first_pass).
kl_each_backend() {
  [ -n "${KL_ISO:-}" ] && return 0
  local suite=$1 iso auto line p f s rc out t0
  trap - DEBUG
  auto=$(KL_BACKENDS= kl_backends | cut -d' ' -f1)
  # A folder the passes share (a compile cache, say), gone at the end.
  export KL_EACH_TMP; KL_EACH_TMP=$(mktemp -d /tmp/kl-each.XXXXXX)
  export KL_PASS=0
  for iso in $(kl_backends); do
    KL_PASS=$((KL_PASS + 1))
    echo "--- $suite on the $iso backend$([ "$iso" = "$auto" ] && echo " (auto)")"
    out=$(mktemp); t0=$(date +%s)
    if [ "$iso" = "$auto" ]; then
      KL_ISO=$iso env -u KERNLESS_ISOLATION bash "${SUITES_DIR:-tests}/$suite/run.sh" "$BUILD" 2>&1 | tee "$out"
    else
      KL_ISO=$iso KERNLESS_ISOLATION=$iso bash "${SUITES_DIR:-tests}/$suite/run.sh" "$BUILD" 2>&1 | tee "$out"
    fi
    rc=${PIPESTATUS[0]}
    line=$(grep -E "^$suite: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?\$" "$out" | tail -n 1)
    rm -f "$out"
    if [ -z "$line" ]; then fail "${suite}_$iso" "the $iso pass exited $rc without a count line"; continue; fi
    read -r p f s < <(echo "$line" | sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\1 \2 \4/')
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    echo "--- $suite on the $iso backend: $p passed, $f failed, ${s:-0} skipped ($(( $(date +%s) - t0 ))s)"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
  done
  rm -rf "$KL_EACH_TMP"
  kl_backends_missing "$suite"
  KL_REACHED_END=1
  kl_finish "$suite"
  exit $?
}

# kl_first_pass: true outside kl_each_backend and in its first pass. For
# checks that do not depend on the backend (the compiler, option parsing):
# they run once, not once per backend.
kl_first_pass() { [ "${KL_PASS:-1}" = 1 ]; }

# kl_stop [SIGNAL]: stop the server kl_serve started (default SIGTERM) and reap it.
kl_stop() {
  if [ -n "$SPID" ]; then kill "-${1:-TERM}" "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
  SPID=
}

# kl_end: the suite's last line. Marks that the suite ran to its end; see
# kl_finish.
kl_end() { KL_REACHED_END=1; }

# kl_finish SUITE: the suite's last line, and its exit status. Prints once, so
# an EXIT trap that calls it again after kl_skip_suite adds no second line.
# Without kl_end's mark the suite stopped midway: that counts as the failure
# suite_died_midway, with the shell's exit status and the last line it ran.
kl_finish() {
  if [ -z "${KL_FINISHED:-}" ]; then
    KL_FINISHED=1
    [ -n "$KL_REACHED_END" ] ||
      fail suite_died_midway "$1 stopped before its end (status ${KL_STATUS:-unknown}, at line ${KL_LINE:-?} of $0)"
    echo "$1: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
  fi
  [ "${failed:-0}" -eq 0 ]
}

# kl_skip_suite SUITE REASON: the whole suite cannot run on this machine (it
# needs a backend or device the machine lacks). Prints "SKIP SUITE: REASON"
# and the count line with one skip (plus any checks already counted), then
# exits: 0 unless something already failed. Never for a suite that could
# run: a skip is reported in make test's last line, not hidden.
kl_skip_suite() {
  skip "$1" "$2"
  KL_REACHED_END=1   # a deliberate end, not a death
  kl_finish "$1"
  exit $?
}
