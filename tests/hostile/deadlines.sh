# deadlines.sh - deadlines that always fire and descriptors a guest cannot exhaust, on every backend (sourced by tests/hostile/run.sh, or run alone).
#
# Alone: bash tests/hostile/deadlines.sh BUILD. Sourced, it uses run.sh's
# helpers and counters (tests/lib.sh) and its work folder $W. Each check
# names the bug it guards and the backend (--isolation) it ran on:
#   far_deadline_*         poll_oneoff with ABSTIME / relative timeouts near
#                          2^64 or 512 subscriptions: 504 by the deadline
#                          (before the fix, hc_sleep's clamp wrapped and the
#                          request never ended);
#   sigterm_drain_bounded  SIGTERM with such requests in flight: the server
#                          exits within --drain-ms + margin (it waited forever);
#   fd_exhaustion_*        three requests open handles until refused (EMFILE,
#                          at most KL_FS_MAX_HANDLES each) while 50 other
#                          connections are served (select() refused them);
#   fd_handles_above_reserved_range  the host descriptors behind them are
#                          all at 1024 and above;
#   fd_limit_per_function  --max-open-files 16: EMFILE after exactly 16;
#   body_over_fn_limit_early  a declared body over the function's own limit
#                          is refused 413 before it is sent;
#   saturation_*           loop, bomb, flood and far-sleep requests fill
#                          --max-running and the queue: a control function
#                          and a deploy get 200 or a prompt 503, and the VM
#                          count returns to baseline;
#   phase_trickled_body_*  a body trickled 4 bytes per half second, or
#                          headers and then silence: answered or cut by
#                          max(function timeout, 10 s) + margin, while a
#                          control is served (they held a thread for good);
#   phase_*                many timeouts at once, requests waiting in the
#                          queue, cold starts, a client that never reads and
#                          a sandbox killed mid-request: each answered by its
#                          deadline plus a margin.
# Timings are only generous deadlines (a margin of seconds), never asserted
# tightly.
if [ -z "${KL_DEADLINES_SOURCED:-}" ]; then
  set -u
  BUILD=${1:-build}
  cd "$(dirname "$0")/../.."
  . tests/lib.sh
  W=$BUILD/deadlines-test
  rm -rf "$W"; mkdir -p "$W"
  trap 'kl_stop KILL; kl_finish hostile_deadlines; exit $?' EXIT
fi
DL=$W/deadlines
MARGIN_S=4
rm -rf "$DL"; mkdir -p "$DL/mods" "$DL/ro"
echo "read-only data" >"$DL/ro/f"

# ---- modules ------------------------------------------------------------------------------
dl_ok=1
for m in poll_far fd_hog; do
  clang --target=wasm32-wasi -O2 "$ROOT/tests/hostile/deadline/$m.c" -o "$DL/mods/$m.wasm" \
    -Wl,--strip-debug >>"$DL/build.log" 2>&1 || dl_ok=0
done
for m in loop_sleep malloc_bomb flood_stdout; do
  clang --target=wasm32-wasi -O2 "$ROOT/tests/hostile/mods/$m.c" -o "$DL/mods/$m.wasm" \
    -Wl,--strip-debug >>"$DL/build.log" 2>&1 || dl_ok=0
done
wat2wasm "$ROOT/tests/hostile/mods/loop_busy.wat" -o "$DL/mods/loop_busy.wasm" >>"$DL/build.log" 2>&1 || dl_ok=0
wat2wasm "$ROOT/tests/hostile/mods/loop_start.wat" -o "$DL/mods/loop_start.wasm" >>"$DL/build.log" 2>&1 || dl_ok=0
clang --target=wasm32-wasi -O2 "$ROOT/examples/wagi-hello/hello.c" -o "$DL/mods/hello.wasm" \
  -Wl,--strip-debug >>"$DL/build.log" 2>&1 || dl_ok=0
if [ $dl_ok = 1 ]; then pass "deadlines_build_modules"
else fail "deadlines_build_modules" "$(tail -c 300 "$DL/build.log")"; fi

# ---- helpers ------------------------------------------------------------------------------
# dl_hit OUT URL [curl args...]: OUT gets "CODE SECONDS"
dl_hit() {
  local out=$1 url=$2; shift 2
  rm -f "$out" "$out.body"
  curl -s --max-time 40 -o "$out.body" -w '%{http_code} %{time_total}' "$@" "$url" >"$out" 2>/dev/null
  [ -s "$out" ] || echo "000 40" >"$out"
}
# dl_within OUT CODES MAX_S: empty when OUT's status is one of CODES (comma
# list) and it came within MAX_S seconds, else why not
dl_within() {
  local code t
  read -r code t <"$1"
  [[ ",$2," == *",$code,"* ]] || { echo "status $code (want $2) after ${t}s: $(head -c 120 "$1.body" 2>/dev/null | tr '\n' ' ')"; return; }
  awk -v t="$t" -v m="$3" 'BEGIN { exit !(t <= m) }' || echo "answered after ${t}s, want at most ${3}s"
}
dl_result() { if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2"; fi; }
# dl_vms: VMs alive over every pool, from /metrics ("none" when /metrics
# fails or is not Prometheus text: never a count by default)
dl_vms() {
  curl -sf --max-time 10 -H "Authorization: Bearer $(cat "$DL/data/admin.token")" "$ADMIN/metrics" |
    awk '/^# TYPE / { seen = 1 } /^kernless_pool_vms\{/ { n += $2 } END { if (seen) print n + 0; else print "none" }'
}
# dl_wait_vms WANT: until /metrics reports WANT VMs, at most 30 s
dl_wait_vms() {
  local i
  for i in $(seq 1 150); do [ "$(dl_vms)" = "$1" ] && return 0; sleep 0.2; done
  return 1
}
dl_deploy() {   # NAME WASM [deploy args...]
  local name=$1 wasm=$2; shift 2
  "$KL" deploy "$name" "$DL/mods/$wasm.wasm" --route "/$name" "$@" >>"$DL/deploy.log" 2>&1
}
# dl_start ISO [serve args...]: a fresh server for one backend
dl_start() {
  local iso=$1; shift
  rm -rf "$DL/data"; mkdir -p "$DL/data"; chmod 700 "$DL/data"
  : >"$DL/serve.err"
  unset KERNLESS_TOKEN
  KERNLESS_DATA=$DL/data kl_serve "$DL/serve.out" "$DL/serve.err" --data "$DL/data" \
    --isolation "$iso" --idle-ms 1000 "$@"
  export KERNLESS_DATA=$DL/data
  [ -n "$PORT" ]
}
# dl_stop_within NAME SECONDS: SIGTERM; the server must be gone in SECONDS
dl_stop_within() {
  local t0 i gone=0
  t0=$(date +%s.%N)
  kill -TERM "$SPID" 2>/dev/null
  for i in $(seq 1 $(($2 * 10))); do kill -0 "$SPID" 2>/dev/null || { gone=1; break; }; sleep 0.1; done
  if [ $gone = 1 ]; then
    pass "$1 ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
    wait "$SPID" 2>/dev/null
  else
    fail "$1" "still running $2 s after SIGTERM: $(tail -c 200 "$DL/serve.err" | tr '\n' ' ')"
    kill -KILL "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
  fi
  SPID=
}

# In a pass of kl_each_backend (KL_ISO set) only that pass's backend.
for ISO in ${KL_ISO:-$(kl_backends)}; do
  # ---- far deadlines, fd exhaustion, early 413, bounded drain ---------------------------
  # The default drain (10 s) is what the drain check below measures.
  if ! dl_start "$ISO"; then
    fail "deadlines_server_start_$ISO" "$(tail -c 300 "$DL/serve.err")"; continue
  fi
  ok=1
  dl_deploy far poll_far --timeout-ms 1000 || ok=0
  dl_deploy farlong poll_far --timeout-ms 120000 || ok=0
  dl_deploy hog fd_hog --timeout-ms 30000 --dir-ro "$DL/ro::/data" || ok=0
  dl_deploy hog16 fd_hog --max-open-files 16 --dir-ro "$DL/ro::/data" || ok=0
  dl_deploy hello hello --max-body-kb 64 || ok=0
  dl_deploy trickle hello --timeout-ms 1000 || ok=0
  if [ $ok = 1 ]; then pass "deadlines_deploy_$ISO"
  else fail "deadlines_deploy_$ISO" "$(tail -c 300 "$DL/deploy.log")"; fi

  # Three of each kind at once (12: under --max-per-fn, so none waits for a
  # VM): every one a 504 within the deadline + margin.
  pids=
  for k in abs rel realtime many; do
    for i in 1 2 3; do dl_hit "$DL/far.$k.$i" "$U/far?$k" & pids="$pids $!"; done
  done
  wait $pids
  for k in abs rel realtime many; do
    why=
    for i in 1 2 3; do w=$(dl_within "$DL/far.$k.$i" 504 $((1 + MARGIN_S))); [ -n "$w" ] && why="$why #$i: $w;"; done
    dl_result "far_deadline_answered_${k}_$ISO" "$why"
  done

  # Three requests take handles until refused, and hold them 8 s, while 50
  # other connections are made: every one of those is served.
  pids=
  for i in 1 2 3; do dl_hit "$DL/hog.$i" "$U/hog?8" & pids="$pids $!"; done
  # hog_fds: "LOW HIGH", the server's descriptors of the hogs' file below
  # 1024 and at 1024 or above. The connections start once the hogs hold all
  # they can: the count is the same three times, half a second apart.
  hog_fds() {
    ls -l "/proc/$SPID/fd" 2>/dev/null | awk -v f="$(realpath "$DL/ro/f")" \
      '$NF == f { if ($(NF-2) + 0 >= 1024) hi++; else lo++ } END { print lo + 0, hi + 0 }'
  }
  prev=; same=0; sleep 0.5
  for t in $(seq 1 30); do
    cur=$(hog_fds)
    if [ "$cur" = "$prev" ] && [ "$cur" != "0 0" ]; then same=$((same+1)); else same=0; fi
    [ $same -ge 2 ] && break
    prev=$cur; sleep 0.5
  done
  # Meanwhile their host descriptors sit at 1024 and above, none below.
  read -r lo hi <<<"$cur"
  if [ "$lo" = 0 ] && [ "$hi" -gt 0 ]; then pass "fd_handles_above_reserved_range_$ISO ($hi)"
  else fail "fd_handles_above_reserved_range_$ISO" "$lo handle descriptors below 1024, $hi above"; fi
  for i in $(seq 1 50); do dl_hit "$DL/ctl.$i" "$U/hello" & pids="$pids $!"; done
  wait $pids
  why=
  for i in 1 2 3; do
    b=$(cat "$DL/hog.$i.body" 2>/dev/null)
    n=$(echo "$b" | sed -n 's/^opened=\([0-9]*\) err=EMFILE$/\1/p')
    if [ -z "$n" ]; then why="$why #$i: '$(echo "$b" | head -c 100 | tr '\n' ' ')';"
    elif [ "$n" -gt 64 ]; then why="$why #$i: $n handles before EMFILE (want at most 64);"; fi
  done
  dl_result "fd_exhaustion_refused_emfile_$ISO" "$why"
  # The limit is the function's own (max_open_files): exactly 16 here.
  dl_hit "$DL/hog16" "$U/hog16"
  check "fd_limit_per_function_$ISO" "opened=16 err=EMFILE" "$(cat "$DL/hog16.body" 2>/dev/null)"
  why=; bad=0
  for i in $(seq 1 50); do w=$(dl_within "$DL/ctl.$i" 200 30); [ -n "$w" ] && { bad=$((bad+1)); why="$w"; }; done
  dl_result "fd_exhaustion_others_served_$ISO" "$([ $bad = 0 ] || echo "$bad of 50 not served, e.g. $why")"

  # A body declared over the function's limit (64 KiB; the server's is 8 MiB)
  # is refused before it is sent: the client sends headers only.
  code=$(/usr/bin/python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect:\r\n\r\n")
try:
    print(s.recv(200).split(b"\r\n")[0].decode(errors="replace") or "closed")
except socket.timeout:
    print("no answer in 5 s")
EOF
)
  check_has "body_over_fn_limit_early_$ISO" "413" "$code"

  # Slowly trickled bodies (issue 20): a client sends a 1 MB body 4 bytes
  # every half second (libmicrohttpd's idle timer, reset by every byte, never
  # fires), another sends its headers and then nothing. The function's
  # timeout is 1 s, so its body must be in by max(1 s, 10 s): each is
  # answered or cut by then plus the timer's second and the margin, while a
  # control request is served. Before the fix, both held their connection
  # and thread for as long as they liked (the idle limit was 120 s).
  pids=
  for mode in trickle silent; do
    /usr/bin/python3 - "$mode" "$PORT" $((10 + 1 + MARGIN_S + 10)) >"$DL/tb.$mode" 2>&1 <<'EOF' &
import socket, sys, time
mode, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()
s.sendall(b"POST /trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\nExpect:\r\n\r\n")
s.settimeout(0.5)
def end(what):
    print(what, "%.1f" % (time.monotonic() - t0))
    sys.exit(0)
while time.monotonic() - t0 < limit:
    try:
        d = s.recv(200)
        end("answered " + d.split(b"\r\n")[0].decode(errors="replace") if d else "cut")
    except socket.timeout:
        pass
    except OSError:
        end("cut")
    if mode == "trickle":
        try:
            s.sendall(b"abcd")
        except OSError:
            end("cut")
end("open")
EOF
    pids="$pids $!"
  done
  sleep 2
  dl_hit "$DL/tb.ctl" "$U/trickle"
  wait $pids
  dl_result "phase_trickled_body_control_served_$ISO" "$(dl_within "$DL/tb.ctl" 200 $((2 + MARGIN_S)))"
  for mode in trickle silent; do
    read -r what t <"$DL/tb.$mode"
    why=
    case $what in cut|answered) ;; *) why="still open after ${t}s: $(head -c 200 "$DL/tb.$mode")" ;; esac
    [ -z "$why" ] && ! awk -v t="$t" -v m=$((10 + 1 + MARGIN_S)) 'BEGIN { exit !(t <= m) }' &&
      why="$what after ${t}s, want at most $((10 + 1 + MARGIN_S))s"
    dl_result "phase_trickled_body_cut_${mode}_$ISO" "$why"
  done
  check_has "phase_trickled_body_logged_$ISO" "request body not received within 10000 ms" "$(cat "$DL/serve.err")"

  # SIGTERM while far sleeps with a 2-minute deadline are in flight: the
  # drain (10 s by default) ends them, and the server exits.
  for i in 1 2 3; do dl_hit "$DL/drain.$i" "$U/farlong?abs" & done
  sleep 2
  dl_stop_within "sigterm_drain_bounded_$ISO" $((10 + MARGIN_S + 2))
  wait
  s=$(grep -m3 -E 'ERROR: AddressSanitizer|runtime error:' "$DL/serve.err")
  check "deadlines_no_sanitizer_reports_$ISO" "" "$s"

  # ---- saturation and deadlines in every phase --------------------------------------------
  if ! dl_start "$ISO" --max-running 4 --max-per-fn 4 --queue 6; then
    fail "saturation_server_start_$ISO" "$(tail -c 300 "$DL/serve.err")"; continue
  fi
  ok=1
  dl_deploy loop loop_busy --timeout-ms 2000 || ok=0
  dl_deploy sleeper loop_sleep --timeout-ms 2000 || ok=0
  dl_deploy far poll_far --timeout-ms 2000 || ok=0
  dl_deploy bomb malloc_bomb --timeout-ms 2000 --max-memory-mb 16 || ok=0
  dl_deploy flood flood_stdout --timeout-ms 2000 --max-response-kb 64 || ok=0
  dl_deploy coldloop loop_start --timeout-ms 2000 || ok=0
  dl_deploy control hello --timeout-ms 2000 || ok=0
  if [ $ok = 1 ]; then pass "saturation_deploy_$ISO"
  else fail "saturation_deploy_$ISO" "$(tail -c 300 "$DL/deploy.log")"; fi
  base=$(dl_vms)
  dl_wait_vms 0 && base=0
  check "saturation_metrics_baseline_$ISO" "0" "$base"

  # Saturation: 4 VMs and 6 queue places, 24 hostile requests, the far
  # sleeps first so that they surely hold VMs. The control function and a
  # deploy get 200 or a prompt 503 meanwhile.
  pids=
  for f in far loop sleeper bomb flood coldloop; do
    for i in 1 2 3 4; do dl_hit "$DL/sat.$f.$i" "$U/$f?abs" & pids="$pids $!"; done
    [ $f = far ] && sleep 0.5
  done
  sleep 0.5
  for i in $(seq 1 8); do dl_hit "$DL/satctl.$i" "$U/control" & pids="$pids $!"; sleep 0.1; done
  t0=$(date +%s)
  dl_deploy hello2 hello --timeout-ms 2000; drc=$?
  dt=$(( $(date +%s) - t0 ))
  wait $pids
  why=
  for i in $(seq 1 8); do w=$(dl_within "$DL/satctl.$i" 200,503 $((2 + MARGIN_S))); [ -n "$w" ] && why="$why #$i: $w;"; done
  dl_result "saturation_control_200_or_prompt_503_$ISO" "$why"
  if [ $drc = 0 ] && [ $dt -le 60 ]; then pass "saturation_deploy_served_$ISO"
  else fail "saturation_deploy_served_$ISO" "rc=$drc after ${dt}s: $(tail -c 200 "$DL/deploy.log")"; fi
  # Every hostile request ends by its deadline (2 s), or waits in the queue
  # no longer than it (503), plus the margin; each phase: loops at once,
  # queued requests, cold starts that loop, floods and bombs.
  for f in loop sleeper far bomb flood coldloop; do
    why=
    for i in 1 2 3 4; do w=$(dl_within "$DL/sat.$f.$i" 200,413,500,502,503,504 $((2 + 2 + MARGIN_S))); [ -n "$w" ] && why="$why #$i: $w;"; done
    dl_result "phase_answered_by_deadline_${f}_$ISO" "$why"
  done
  if dl_wait_vms 0; then pass "saturation_vms_back_to_baseline_$ISO"
  else fail "saturation_vms_back_to_baseline_$ISO" "$(dl_vms) VMs alive 30 s after the load (baseline 0)"; fi

  # Clients that never read: 4 connections ask for a 64 KiB answer and read
  # nothing; the VMs go back all the same and others are served.
  pids=
  for i in 1 2 3 4; do
    /usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(12)' "$PORT" & pids="$pids $!"
  done
  sleep 3
  dl_hit "$DL/noread.ctl" "$U/control"
  dl_result "phase_client_never_reads_others_served_$ISO" "$(dl_within "$DL/noread.ctl" 200 $((2 + MARGIN_S)))"
  if dl_wait_vms 0; then pass "phase_client_never_reads_vms_back_$ISO"
  else fail "phase_client_never_reads_vms_back_$ISO" "$(dl_vms) VMs alive while the clients do not read"; fi
  kill $pids 2>/dev/null; wait $pids 2>/dev/null

  # A sandbox killed mid-request (process backend): the request is answered
  # by its deadline plus the margin, and the next one is served. Only the
  # busy sandboxes are killed (over 0.3 s of CPU), not the spares.
  if [ "$ISO" = process ]; then
    pids=
    for i in 1 2; do dl_hit "$DL/killed.$i" "$U/loop" & pids="$pids $!"; done
    sleep 0.3
    # Busy: at least 0.1 s of CPU over the next second (warm sandboxes keep
    # the CPU time of earlier requests, so only the growth counts).
    declare -A t0=()
    for c in $(pgrep -P "$SPID"); do t0[$c]=$(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null); done
    sleep 1
    nk=0
    for c in "${!t0[@]}"; do
      ticks=$(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null)
      [ $(( ${ticks:-0} - ${t0[$c]:-0} )) -ge 10 ] && kill -KILL "$c" 2>/dev/null && nk=$((nk+1))
    done
    check "phase_sandbox_killed_found_busy_$ISO" 2 "$nk"
    wait $pids
    why=
    for i in 1 2; do w=$(dl_within "$DL/killed.$i" 500,502,504 $((2 + MARGIN_S))); [ -n "$w" ] && why="$why #$i: $w;"; done
    dl_result "phase_sandbox_killed_answered_$ISO" "$why"
    dl_hit "$DL/killed.after" "$U/control"
    dl_result "phase_sandbox_killed_next_served_$ISO" "$(dl_within "$DL/killed.after" 200 $((2 + MARGIN_S)))"
  fi
  dl_stop_within "saturation_sigterm_stops_$ISO" $((10 + MARGIN_S + 2))
  s=$(grep -m3 -E 'ERROR: AddressSanitizer|runtime error:' "$DL/serve.err")
  check "saturation_no_sanitizer_reports_$ISO" "" "$s"
done

# Alone, this file ends its own run (sourced, run.sh does).
if [ -z "${KL_DEADLINES_SOURCED:-}" ]; then kl_end; fi
