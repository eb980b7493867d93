# lib.sh - shared by the suites that drive a real `kernless serve`: which binary, the check helpers, starting a server.
#
# Source it from a suite's run.sh after `cd` to the project root, with
# BUILD set. It sets ROOT, makes BUILD absolute and picks KL: KERNLESS_BIN,
# else BUILD/san/kernless (ASan/UBSan) when built, else BUILD/kernless.
# The counters `passed`, `failed` and `skipped` feed the suite's last line,
# which kl_finish prints. PASS_QUIET=1 keeps passing checks off the output (for
# suites with hundreds of them); failures are always printed.

ROOT=$PWD
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KL=${KERNLESS_BIN:-}
if [ -z "$KL" ]; then
  if [ -x "$BUILD/san/kernless" ]; then KL=$BUILD/san/kernless; else KL=$BUILD/kernless; fi
fi
passed=0; failed=0; skipped=0
SPID=; PORT=; U=; ADMIN=

pass() { [ "${PASS_QUIET:-0}" = 1 ] || echo "PASS $1"; passed=$((passed+1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed+1)); }
# skip NAME REASON: a check this machine cannot make; the reason is required
# (tests/run_all.sh fails a suite that reports skips without one).
skip() { echo "SKIP $1: ${2:?skip needs a reason}"; skipped=$((skipped+1)); }
# check NAME EXPECTED ACTUAL: equality
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$(echo "$3" | head -c 300)'"; fi; }
# check_has NAME NEEDLE HAYSTACK: substring
check_has() { case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "expected to contain '$2', got '$(echo "$3" | head -c 300)'" ;; esac; }

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

# kl_stop [SIGNAL]: stop the server kl_serve started (default SIGTERM) and reap it.
kl_stop() {
  if [ -n "$SPID" ]; then kill "-${1:-TERM}" "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
  SPID=
}

# kl_finish SUITE: the suite's last line, and its exit status. Prints once, so
# an EXIT trap that calls it again after kl_skip_suite adds no second line.
kl_finish() {
  if [ -z "${KL_FINISHED:-}" ]; then
    KL_FINISHED=1
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
  kl_finish "$1"
  exit $?
}
