#!/usr/bin/env bash
# fresh-debian-check.sh - check that `make test` and `make run` work on their first run on a fresh Debian 12.
#
# Not part of `make test`. A green run on a developer machine hides missing
# install steps (a package deps.sh forgets, a tool a test calls, a Makefile
# that reads pkg-config before the libraries are installed), so this script
# builds a bare Debian 12 (bookworm) chroot with debootstrap and runs the
# README's Quick start in it, as root, like CI:
#
#   1. base: debootstrap bookworm (default variant: the "required" and
#      "important" packages of a minimal Debian install) plus make and git,
#      packed once into WORK/base-bookworm.tar.gz and reused by later runs
#      (--fresh rebuilds it).
#      ASSUMPTION: README's Quick start ("Debian 12, as root": `make run`,
#      `make test`, and `git clone` to get the sources) is all a user starts
#      with, so make and git are the only packages added; everything else
#      must come from scripts/deps.sh via apt-get.
#   2. test: a fresh chroot from the base tarball; /proc, /dev, /dev/pts,
#      /sys mounted (and unmounted on exit by a trap, even on failure; the
#      chroot's / is bound onto itself so it is a mount point, as on a real
#      machine, or `unshare -m` fails there with EINVAL); the
#      project cloned to /work/kernless (git clone of the committed HEAD, or
#      --worktree: plus uncommitted and untracked, non-ignored files); the
#      official test suites (../shared beside this project) bind-mounted
#      READ-ONLY at /work/shared, beside it, never copied into the project;
#      then `make test`, its log kept and its last line
#      "N passed, N failed[, N skipped]" picked out.
#   3. run: by default ANOTHER fresh chroot from the base tarball, so that
#      `make run` is a first run too (--one-chroot: the same chroot as the
#      test, after it); `make run` in the background until it prints its
#      "curl http://..." lines, then `curl /hello` must answer 200 with
#      "Hello from Kernless!"; then it is stopped.
#
# The chroots share the host's network (apt-get must reach the mirror), so
# `make run` listens on free ports (KERNLESS_LISTEN and KERNLESS_ADMIN_LISTEN,
# which scripts/run.sh honours) instead of 8080 and 8081, which another
# server on this host may hold.
# Downloaded .debs are cached in WORK/apt-archives (bind-mounted at
# /var/cache/apt/archives) so the second chroot does not download them
# again; apt-get still decides and installs everything itself
# (--no-apt-cache turns this off).
#
# Usage: scripts/fresh-debian-check.sh [options]
#   --work DIR         work folder (default /var/tmp/kernless-fresh-debian)
#   --fresh            rebuild the base tarball (debootstrap again)
#   --worktree         include uncommitted and untracked (non-ignored) files
#   --one-chroot       run `make run` in the test's chroot instead of a fresh one
#   --minbase          debootstrap --variant=minbase (harsher than a real install)
#   --mirror URL       Debian mirror (default: from /etc/apt/sources.list*)
#   --suites "a b"     only these suites (SUITES=... make test)
#   --skip-test        only the `make run` step
#   --skip-run         only the `make test` step
#   --test-timeout S   limit for `make test` (default 5400)
#   --run-timeout S    limit for `make run` to print its curl lines (default 2400)
#   --port N           port for `make run` (default: a free one from 18080)
#   --keep-root        keep the chroots' folders afterwards (default: removed)
#   --no-second-run    when a first run fails, do not run it a second time
#                      (the second run, on by default, is diagnostic only: it
#                      shows what fails further on once packages are installed;
#                      the exit status is still that of the first runs)
#   --no-apt-cache     do not keep downloaded .debs in WORK/apt-archives
# Logs: WORK/logs/<UTC time>/: debootstrap.log, test.log, run.log, curl-run.log
# (test2.log, run2.log, curl-run2.log for second runs) and summary.txt.
# Exit status: 0 when every step that ran passed, 1 otherwise, 2 on setup errors.
set -uo pipefail
# The whole script is one { ... } block, read in full before it runs, so editing or
# pulling this file while a long check runs cannot change what that check does.
{

PROJECT=$(cd "$(dirname "$0")/.." && pwd)
WORK=/var/tmp/kernless-fresh-debian
FRESH=0 WORKTREE=0 ONE_CHROOT=0 VARIANT="" MIRROR="" SUITES_ARG=""
SECOND_RUN=1 DO_TEST=1 DO_RUN=1 TEST_TIMEOUT=5400 RUN_TIMEOUT=2400 PORT="" KEEP_ROOT=0 APT_CACHE=1

die() { echo "fresh-debian-check: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --work) WORK=$2; shift ;;
    --fresh) FRESH=1 ;;
    --worktree) WORKTREE=1 ;;
    --one-chroot) ONE_CHROOT=1 ;;
    --minbase) VARIANT=minbase ;;
    --mirror) MIRROR=$2; shift ;;
    --suites) SUITES_ARG=$2; shift ;;
    --skip-test) DO_TEST=0 ;;
    --skip-run) DO_RUN=0 ;;
    --test-timeout) TEST_TIMEOUT=$2; shift ;;
    --run-timeout) RUN_TIMEOUT=$2; shift ;;
    --port) PORT=$2; shift ;;
    --keep-root) KEEP_ROOT=1 ;;
    --no-second-run) SECOND_RUN=0 ;;
    --no-apt-cache) APT_CACHE=0 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mounts)"
SHARED=$(cd "$PROJECT/.." && pwd)/shared
[ -d "$SHARED/testsuites" ] || die "no $SHARED/testsuites beside the project"
mkdir -p "$WORK" || die "cannot create $WORK"
WORK=$(cd "$WORK" && pwd)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOGS=$WORK/logs/$STAMP
mkdir -p "$LOGS" "$WORK/apt-archives/partial"
SUMMARY=$LOGS/summary.txt
say() { echo "fresh-debian-check: $*"; echo "$*" >>"$SUMMARY"; }
now() { date +%s; }

# ---------- mounts and clean-up ----------
MOUNTS=()     # every mount point made, unmounted in reverse order on exit
ROOTS=()      # chroot folders made by this run
BG_PID=""
mnt() {       # mnt TARGET ARGS...: mount, and remember TARGET for the trap
  local t=$1; shift
  mkdir -p "$t"
  mount "$@" "$t" || return 1
  MOUNTS+=("$t")
}
# Kill the processes whose root is the chroot R (started by this script inside it), by pid.
kill_in_root() {
  local r=$1 p pids=() sig
  for sig in TERM KILL; do
    pids=()
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ] && pids+=("${p#/proc/}")
    done
    [ ${#pids[@]} -eq 0 ] && return 0
    kill -s $sig "${pids[@]}" 2>/dev/null
    sleep 2
  done
}
umount_all() {
  local i t
  for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do
    t=${MOUNTS[$i]}
    mountpoint -q "$t" || continue
    umount "$t" 2>/dev/null || umount -l "$t" 2>/dev/null || echo "fresh-debian-check: warning: could not unmount $t" >&2
  done
  MOUNTS=()
}
cleanup() {
  local r
  [ -n "$BG_PID" ] && kill -- -"$BG_PID" 2>/dev/null
  for r in "${ROOTS[@]}"; do kill_in_root "$r"; done
  umount_all
  if [ "$KEEP_ROOT" -eq 0 ]; then
    for r in "${ROOTS[@]}"; do
      # Only ever remove a chroot with nothing mounted beneath it.
      if ! grep -qE " $r(/| )" /proc/self/mounts; then rm -rf --one-file-system "$r"; fi
    done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------- mirror ----------
find_mirror() {
  local f u
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    u=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) {print $i; exit}}' "$f" |
        grep -E 'debian' | head -n1)
    [ -n "$u" ] && { echo "$u"; return; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    u=$(awk '/^URIs:/ {for(i=2;i<=NF;i++) print $i}' "$f" | grep -E 'debian' | grep -v security | head -n1)
    [ -n "$u" ] && { echo "$u"; return; }
  done
}
find_security_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' | grep -oE 'https?://[^ ]*debian-security[^ ]*' | head -n1
}
[ -n "$MIRROR" ] || MIRROR=$(find_mirror)
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list*; pass --mirror URL"
SECURITY=$(find_security_mirror)

# ---------- phase 1: base tarball ----------
BASE=$WORK/base-bookworm${VARIANT:+-$VARIANT}.tar.gz
t0=$(now)
: >"$SUMMARY"
say "project $PROJECT, shared $SHARED (read-only)"
say "mirror $MIRROR${SECURITY:+, security $SECURITY}; work $WORK; logs $LOGS"
if [ "$FRESH" -eq 1 ] || [ ! -s "$BASE" ]; then
  if ! command -v debootstrap >/dev/null; then
    echo "fresh-debian-check: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >>"$LOGS/debootstrap.log" 2>&1 ||
      { apt-get update -q >>"$LOGS/debootstrap.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >>"$LOGS/debootstrap.log" 2>&1; } ||
      die "cannot install debootstrap (see $LOGS/debootstrap.log)"
  fi
  B=$WORK/base-build
  if grep -q " $B/" /proc/self/mounts; then die "$B still has mounts; unmount them first"; fi
  rm -rf --one-file-system "$B"
  echo "fresh-debian-check: debootstrap bookworm${VARIANT:+ ($VARIANT)} into $B (a few minutes)"
  ROOTS+=("$B")
  debootstrap ${VARIANT:+--variant=$VARIANT} --include=make,git bookworm "$B" "$MIRROR" \
    >>"$LOGS/debootstrap.log" 2>&1 || die "debootstrap failed (see $LOGS/debootstrap.log)"
  # A fresh Debian 12 install's apt sources: main, updates, security.
  {
    echo "deb $MIRROR bookworm main"
    echo "deb $MIRROR bookworm-updates main"
    [ -n "$SECURITY" ] && echo "deb $SECURITY bookworm-security main"
  } >"$B/etc/apt/sources.list"
  # No service may start inside the chroot (a package's postinst would otherwise try).
  printf '#!/bin/sh\nexit 101\n' >"$B/usr/sbin/policy-rc.d"; chmod 755 "$B/usr/sbin/policy-rc.d"
  rm -rf "$B/var/cache/apt/archives/"*.deb "$B/var/lib/apt/lists/"*_Packages 2>/dev/null
  tar -C "$B" --numeric-owner -czf "$BASE.tmp" . || die "cannot pack $BASE"
  mv "$BASE.tmp" "$BASE"
  rm -rf --one-file-system "$B"
  say "base: debootstrap + make, git, packed into $BASE: $(( $(now) - t0 ))s"
else
  say "base: reused $BASE (--fresh rebuilds it)"
fi

# ---------- a chroot from the base, with the project and ../shared ----------
# new_root NAME: unpack the base into WORK/NAME, mount, clone; prints nothing, sets R.
new_root() {
  R=$WORK/$1
  if grep -qE " $R(/| )" /proc/self/mounts; then die "$R still has mounts; unmount them first"; fi
  rm -rf --one-file-system "$R"
  mkdir -p "$R"
  ROOTS+=("$R")
  tar -C "$R" --numeric-owner -xzf "$BASE" || die "cannot unpack $BASE"
  cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
  # The chroot uses this host's network, so it needs this host's network trust too: a local CA
  # (an egress proxy's that re-signs HTTPS, say npm's registry) lives in
  # /usr/local/share/ca-certificates, which Debian's update-ca-certificates adds to the store.
  # A real machine on that network is set up the same way; the project itself adds nothing.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$R/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"
    # A base without ca-certificates adds them when deps.sh installs it (its postinst runs this).
    if [ -x "$R/usr/sbin/update-ca-certificates" ]; then
      chroot "$R" /usr/sbin/update-ca-certificates >/dev/null 2>&1 \
        || say "$1: note: update-ca-certificates failed; HTTPS through this host's proxy may fail"
    fi
  fi
  grep -q localhost "$R/etc/hosts" 2>/dev/null || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >>"$R/etc/hosts"
  # / is a mount point on a real machine; `unshare -m` (tests/run) sets / private and fails with EINVAL otherwise.
  mnt "$R" --bind "$R" || die "bind $R onto itself"
  mnt "$R/proc" -t proc proc || die "mount proc"
  mnt "$R/sys" -t sysfs sysfs || mnt "$R/sys" --rbind /sys || die "mount sys"
  mnt "$R/dev" --bind /dev || die "mount dev"
  mnt "$R/dev/pts" --bind /dev/pts || die "mount dev/pts"
  mnt "$R/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm || die "mount dev/shm"
  if [ "$APT_CACHE" -eq 1 ]; then
    mnt "$R/var/cache/apt/archives" --bind "$WORK/apt-archives" || die "mount apt cache"
  fi
  mnt "$R/work/shared" --bind "$SHARED" || die "bind $SHARED"
  mount -o remount,bind,ro "$R/work/shared" || die "cannot make $R/work/shared read-only"
  git clone -q --no-hardlinks "$PROJECT" "$R/work/kernless" || die "git clone failed"
  say "$1: cloned $(git -C "$R/work/kernless" log -1 --format='%h %s' | cut -c1-100)$([ "$WORKTREE" -eq 1 ] && echo ' + working tree')"
  if [ "$WORKTREE" -eq 1 ]; then
    # Tracked (modified) and untracked non-ignored files as they are now; deleted ones removed.
    (cd "$PROJECT" && git ls-files -z -c -o --exclude-standard |
       while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
       tar --null -T - -cf -) | tar -C "$R/work/kernless" -xf - || die "copying the working tree failed"
    (cd "$PROJECT" && git ls-files -z -d) | (cd "$R/work/kernless" && xargs -0 -r rm -f --)
  fi
}
# in_root CMD: run a shell command in the chroot R as root, with a login-like clean environment.
in_root() {
  chroot "$R" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "$1"
}

TEST_STATUS="not run" RUN_STATUS="not run" FINAL_LINE=""
TEST2_STATUS="" RUN2_STATUS="" FINAL2_LINE=""
RC=0
ENVV=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

# ---------- phase 2: make test ----------
# make_test LOG: `make test` in R; sets ST (status) and FL (final line); returns 0 when it passed.
make_test() {
  local log=$1 trc
  timeout -k 30 "$TEST_TIMEOUT" chroot "$R" /usr/bin/env -i "${ENVV[@]}" \
    ${SUITES_ARG:+SUITES="$SUITES_ARG"} \
    /bin/bash -c 'cd /work/kernless && make test' </dev/null >"$log" 2>&1
  trc=$?
  FL=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n1)
  if [ "$trc" -eq 0 ] && [ -n "$FL" ]; then ST="ok"; return 0
  elif [ "$trc" -eq 124 ] || [ "$trc" -eq 137 ]; then ST="FAILED (timed out after ${TEST_TIMEOUT}s)"
  else ST="FAILED (exit $trc)"
  fi
  return 1
}
report_test() {   # report_test LOG
  grep -E '^=== suite [a-z]+:|^suite [a-z]+:' "$1" | sed 's/^/  /' | tee -a "$SUMMARY"
  if [ -z "$FL" ] || [ "$ST" != ok ]; then
    echo "  first errors / last lines of $1:" | tee -a "$SUMMARY"
    # Missing tools, files, headers, libraries; /dev/kvm (a host limit, not an install step) left out.
    grep -nE '^make: |No such file|not found|command not found|cannot find|missing|undefined reference|fatal error' "$1" |
      grep -v '/dev/kvm' | head -n 12 | sed 's/^/    /' | tee -a "$SUMMARY"
    echo "    ..." | tee -a "$SUMMARY"
    tail -n 8 "$1" | sed 's/^/    /' | tee -a "$SUMMARY"
  fi
}
if [ "$DO_TEST" -eq 1 ]; then
  t0=$(now)
  new_root root-test
  say "test: chroot $R ready: $(( $(now) - t0 ))s"
  t0=$(now)
  echo "fresh-debian-check: make test in $R (log $LOGS/test.log; can take 10+ minutes)"
  make_test "$LOGS/test.log"; TEST_STATUS=$ST; FINAL_LINE=$FL
  [ "$TEST_STATUS" = ok ] || RC=1
  say "test: first make test: $(( $(now) - t0 ))s, $TEST_STATUS; final line: ${FINAL_LINE:-<none>}"
  report_test "$LOGS/test.log"
  if [ "$TEST_STATUS" != ok ] && [ -z "$FINAL_LINE" ] && [ "$SECOND_RUN" -eq 1 ]; then
    # Diagnostic only: what a second `make test` (packages now installed) finds further on.
    t0=$(now)
    echo "fresh-debian-check: first make test failed; a second one, for diagnosis (log $LOGS/test2.log)"
    make_test "$LOGS/test2.log"; TEST2_STATUS=$ST; FINAL2_LINE=$FL
    say "test: second make test (diagnostic): $(( $(now) - t0 ))s, $TEST2_STATUS; final line: ${FINAL2_LINE:-<none>}"
    report_test "$LOGS/test2.log"
  fi
  if [ "$DO_RUN" -eq 1 ] && [ "$ONE_CHROOT" -eq 0 ]; then
    kill_in_root "$R"; umount_all
  fi
fi

# ---------- phase 3: make run ----------
# free_port [FIRST]: the first free port from FIRST (default 18080) to 18180.
free_port() {
  local p
  for p in $(seq "${1:-18080}" 18180); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
# make_run TAG: `make run` in R in the background until its curl lines, curl /hello, stop it; sets ST.
make_run() {
  local tag=$1 log=$LOGS/$1.log clog=$LOGS/curl-$1.log ready=0 crc t0
  t0=$(now)
  echo "fresh-debian-check: make run in $R on 127.0.0.1:$PORT (log $log)"
  setsid chroot "$R" /usr/bin/env -i "${ENVV[@]}" KERNLESS_LISTEN="127.0.0.1:$PORT" \
    KERNLESS_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
    /bin/bash -c 'cd /work/kernless && exec make run' </dev/null >"$log" 2>&1 &
  BG_PID=$!
  while [ $(( $(now) - t0 )) -lt "$RUN_TIMEOUT" ]; do
    grep -q "curl http://127.0.0.1:$PORT/hello" "$log" && { ready=1; break; }
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 3
  done
  if [ "$ready" -eq 1 ]; then
    say "$tag: make run printed its curl lines after $(( $(now) - t0 ))s"
    # The chroot's own curl (deps.sh installs it), as a user of that machine would.
    in_root "curl -s -i --max-time 10 http://127.0.0.1:$PORT/hello" >"$clog" 2>&1
    crc=$?
    if [ "$crc" -eq 0 ] && head -n1 "$clog" | grep -q ' 200' && grep -q 'Hello from Kernless!' "$clog"; then
      ST="ok"
    else
      ST="FAILED (curl /hello: exit $crc, $(head -n1 "$clog" | tr -d '\r'))"
    fi
    say "$tag: curl /hello: $(head -n1 "$clog" | tr -d '\r') / $(tail -n1 "$clog" | tr -d '\r')"
  else
    if kill -0 "$BG_PID" 2>/dev/null; then ST="FAILED (no curl lines after ${RUN_TIMEOUT}s)"
    else wait "$BG_PID"; ST="FAILED (make run exited $? before printing its curl lines)"; fi
    say "$tag: $ST; first errors / last lines of $log:"
    grep -nE '^make: |No such file|not found|command not found|cannot find|missing|undefined reference|fatal error' "$log" |
      grep -v '/dev/kvm' | head -n 12 | sed 's/^/    /' | tee -a "$SUMMARY"
    echo "    ..." | tee -a "$SUMMARY"
    tail -n 8 "$log" | sed 's/^/    /' | tee -a "$SUMMARY"
  fi
  kill -- -"$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; BG_PID=""
  kill_in_root "$R"
  say "$tag: make run: $(( $(now) - t0 ))s in all, $ST"
  [ "$ST" = ok ]
}
if [ "$DO_RUN" -eq 1 ]; then
  t0=$(now)
  if [ "$DO_TEST" -eq 0 ] || [ "$ONE_CHROOT" -eq 0 ]; then
    new_root root-run
    say "run: chroot $R ready: $(( $(now) - t0 ))s"
  fi
  [ -n "$PORT" ] || PORT=$(free_port)
  [ -n "$PORT" ] || die "no free port in 18080-18180"
  ADMIN_PORT=$(free_port $((PORT + 1)))
  [ -n "$ADMIN_PORT" ] || die "no free admin port in $((PORT + 1))-18180"
  make_run run; RUN_STATUS=$ST
  [ "$RUN_STATUS" = ok ] || RC=1
  if [ "$RUN_STATUS" != ok ] && [ "$SECOND_RUN" -eq 1 ] && ! grep -q "curl http://127.0.0.1:$PORT/hello" "$LOGS/run.log"; then
    echo "fresh-debian-check: first make run failed; a second one, for diagnosis"
    make_run run2; RUN2_STATUS=$ST
  fi
fi

say "SUMMARY: make test (first run): $TEST_STATUS${FINAL_LINE:+ ($FINAL_LINE)}${TEST2_STATUS:+; second run (diagnostic): $TEST2_STATUS${FINAL2_LINE:+ ($FINAL2_LINE)}}"
say "SUMMARY: make run (first run): $RUN_STATUS${RUN2_STATUS:+; second run (diagnostic): $RUN2_STATUS}"
[ "$RC" -eq 0 ] && say "PASS: every step that ran worked on its first run" || say "FAIL: see $LOGS"
exit $RC
}
