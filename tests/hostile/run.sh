#!/usr/bin/env bash
# run.sh - hostile-module suite: every module in tests/hostile/cases against one `kernless serve`, which must keep serving and give back its memory and fds.
#
# Usage: tests/hostile/run.sh BUILD. Prints one line per check and, last,
# "hostile: N passed, N failed"; exits non-zero on any failure.
#
# The server under test is BUILD/san/kernless (ASan/UBSan) when present, else
# BUILD/kernless; KERNLESS_BIN overrides. The sanitizer build is the point of
# a hostile suite: a host-side overflow or leak that a guest provokes is a
# report on the server's stderr, which fails the suite (checked at the end,
# after a clean shutdown so LeakSanitizer runs). Its RSS is made meaningful
# with a small quarantine and a prompt release of freed memory to the OS.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
kl_each_backend hostile   # once per backend the host has (tests/lib.sh)
H=$ROOT/tests/hostile
W=$BUILD/hostile-test
# Compiled images survive between runs (the server verifies each one's hash
# before use), so only the first run pays ~1 minute of compiling.
CACHE=$BUILD/hostile-cache
# Cases that end by themselves get a generous timeout: under load (all cases at
# once on two cores, a sanitizer build, a fuzzer) a cold start takes seconds.
DEFAULT_FLAGS="--timeout-ms 10000 --max-memory-mb 16 --max-response-kb 64"
# RSS may end up this much above the baseline: allocator arenas, SQLite's page
# cache and thread stacks settle at slightly different sizes from round to round.
RSS_TOLERANCE_KB=16384
T_START=$(date +%s)
rm -rf "$W"; mkdir -p "$W/mods" "$W/out" "$CACHE"
CPID=

stop_control() {
  if [ -n "$CPID" ]; then touch "$W/control.stop"; wait "$CPID" 2>/dev/null; CPID=; fi
}
stop_server() { kl_stop; }
finish() {
  stop_control
  stop_server
  kl_finish hostile
  exit $?
}
trap finish EXIT

# ---- the cases ------------------------------------------------------------------
NAMES=()
declare -A FLAGS REQ EXPECT
while IFS='|' read -r name flags req expect; do
  name=$(echo "$name" | sed 's/^ *//; s/ *$//')
  case "$name" in ''|'#'*) continue ;; esac
  flags=$(echo "$flags" | sed 's/^ *//; s/ *$//')
  NAMES+=("$name")
  FLAGS[$name]=${flags:-$DEFAULT_FLAGS}
  REQ[$name]=$(echo "$req" | sed 's/^ *//; s/ *$//')
  EXPECT[$name]=$(echo "$expect" | sed 's/^ *//; s/ *$//')
done <"$H/cases"
nmods=$(ls "$H/mods" | grep -cE '^[a-z].*\.(wat|c)$|^gen_.*\.py$')
if [ "$nmods" -ge 32 ] && [ "${#NAMES[@]}" -eq "$nmods" ]; then pass "cases_cover_modules ($nmods)"
else fail "cases_cover_modules" "${#NAMES[@]} cases for $nmods modules (want one case per module, at least 32)"; fi

# ---- build the modules -------------------------------------------------------------
if [ ! -x "$KL" ]; then fail "binary" "no kernless binary at $KL"; exit 1; fi
for t in clang wat2wasm /usr/bin/python3; do
  command -v "$t" >/dev/null || { fail "tool_$t" "$t not found (scripts/deps.sh)"; exit 1; }
done
bad=
for name in "${NAMES[@]}"; do
  src=$(ls "$H/mods/$name".* 2>/dev/null | head -n1); out=$W/mods/$name.wasm
  case "$src" in
    *.wat) wat2wasm "$src" -o "$out" ;;
    *.c)   clang --target=wasm32-wasi -O2 "$src" -o "$out" -Wl,--strip-debug ;;
    *.py)  (cd "$H/mods" && /usr/bin/python3 -B "$src" "$out") ;;
    *)     false ;;
  esac >>"$W/build.log" 2>&1 || bad="$bad $name"
  [ "${REQ[$name]}" != "${REQ[$name]#POST }" ] && printf '%b' "${REQ[$name]#POST }" >"$W/mods/$name.body"
done
clang --target=wasm32-wasi -O2 examples/wagi-hello/hello.c -o "$W/mods/hello.wasm" \
  -Wl,--strip-debug >>"$W/build.log" 2>&1 || bad="$bad hello"
if [ -z "$bad" ]; then pass "build_modules"; else fail "build_modules" "$bad: $(tail -c 300 "$W/build.log")"; exit 1; fi

# ---- the server --------------------------------------------------------------------
export KERNLESS_DATA=$W/data
unset KERNLESS_TOKEN
mkdir -p "$W/data/images" && chmod 700 "$W/data" "$W/data/images"
cp "$CACHE"/*.kimg "$W/data/images/" 2>/dev/null
# --idle-ms 1000: warm VMs of idle functions are destroyed about a second after
# their last request, so "back to baseline" can be waited for. (A plain
# build, KERNLESS_BIN=build/kernless, fixes glibc's mmap threshold itself in
# serve.c, so freed output buffers go back to the system.) --ready-ms 1500:
# a function at zero keeps a ready VM (built fresh, never used) 1.5 s more,
# so the rounds use and build ready VMs, and "back to baseline" also shows
# that dropping them leaks nothing.
: >"$W/serve.err"
ASAN_OPTIONS=quarantine_size_mb=4:thread_local_quarantine_size_kb=64:allocator_release_to_os_interval_ms=200:detect_leaks=1 \
  kl_serve "$W/serve.out" "$W/serve.err" --data "$W/data" --idle-ms 1000 --ready-ms 1500
if [ -z "$PORT" ]; then fail "server_start" "no listening line: $(tail -c 400 "$W/serve.err")"; exit 1; fi
pass "server_start"
TOKEN=$(cat "$W/data/admin.token")

# ---- the control function, called every ~50 ms for the whole run -------------------
if "$KL" deploy control "$W/mods/hello.wasm" --route /control >"$W/deploy.control" 2>&1; then
  pass "deploy_control"
else
  fail "deploy_control" "$(tail -c 300 "$W/deploy.control")"; exit 1
fi
(
  while [ ! -e "$W/control.stop" ]; do
    c=$(curl -s --max-time 20 -o "$W/control.body" -w '%{http_code}' "$U/control")
    if [ "$c" = 200 ] && [ "$(cat "$W/control.body")" = "Hello from Kernless!" ]; then echo ok
    else echo "bad $c $(date +%T.%N | cut -c1-12) $(head -c 80 "$W/control.body" | tr -d '\n')"; fi
    sleep 0.05
  done >"$W/control.log"
) &
CPID=$!

# ---- deploy every case -----------------------------------------------------------------
# deploy_case NAME: checks a refusal right here; returns 0 when NAME is served.
deploy_case() {
  local name=$1 exp=${EXPECT[$1]} out rc
  # shellcheck disable=SC2086
  out=$("$KL" deploy "$name" "$W/mods/$name.wasm" --route "/h/$name" ${FLAGS[$name]} 2>&1); rc=$?
  case "$exp" in
    deploy*)
      set -- $exp
      local st=$2 needle=${exp#deploy $2 } got
      got=$(echo "$out" | grep -o 'HTTP [0-9]*' | tail -n1 | sed 's/HTTP //')
      if [ $rc -ne 0 ] && [[ ",$st," == *",$got,"* ]] && [[ "$out" == *"$needle"* ]]; then
        pass "deploy_refused_$name"
      else
        fail "deploy_refused_$name" "want HTTP $st with '$needle', got rc=$rc: $(echo "$out" | tail -c 300 | tr '\n' ' ')"
      fi
      return 1 ;;
  esac
  if [ $rc -eq 0 ]; then return 0; fi
  fail "deploy_$name" "$(echo "$out" | tail -c 300 | tr '\n' ' ')"
  return 1
}
SERVED=()
for name in "${NAMES[@]}"; do
  deploy_case "$name" && SERVED+=("$name")
done
nrun=0
for n in "${NAMES[@]}"; do case "${EXPECT[$n]}" in deploy*) ;; *) nrun=$((nrun+1)) ;; esac; done
check "deployed_all_runnable" "$nrun" "${#SERVED[@]}"
ls "$W/data/images" | grep -v '\.kimg$' >"$W/stray" 2>/dev/null
check "images_only_complete_files" "" "$(cat "$W/stray")"
left=$(find "$W/data" -name '*.tmp.*' 2>/dev/null; [ -d "$W/data/build" ] && find "$W/data/build" -mindepth 1)
check "no_temp_files_after_deploys" "" "$left"
stored=$(for n in "${NAMES[@]}"; do case "${EXPECT[$n]}" in deploy*)
  sha=$(sha256sum "$W/mods/$n.wasm" | cut -c1-64); [ -e "$W/data/modules/$sha.wasm" ] && echo "$n" ;; esac; done)
check "refused_modules_not_stored" "" "$stored"
out=$("$KL" ls 2>&1)
check "refused_not_listed" "" "$(for n in "${NAMES[@]}"; do case "${EXPECT[$n]}" in deploy*) echo "$out" | grep "^$n " ;; esac; done)"

# ---- requests ----------------------------------------------------------------------
# hit NAME OUT: one request; OUT.code, OUT.hdr, OUT.body, OUT.time
hit() {
  local name=$1 out=$2 args=()
  [ -e "$W/mods/$name.body" ] && args=(--data-binary @"$W/mods/$name.body")
  curl -s --max-time 60 -D "$out.hdr" -o "$out.body" -w '%{http_code} %{time_total}' \
    "${args[@]}" "$U/h/$name" >"$out.code" 2>/dev/null
}
# verify NAME OUT: empty output when the response is what the case expects, else why not
verify() {
  local name=$1 out=$2 exp=${EXPECT[$1]} st cause needles code t hdr body n prefix
  read -r st cause needles <<<"$exp"
  read -r code t <"$out.code"
  hdr=$(grep -i '^X-Kernless-Error:' "$out.hdr" 2>/dev/null | tr -d '\r' | sed 's/^[^:]*: *//')
  body=$(head -c 100000 "$out.body" 2>/dev/null | tr -d '\0')
  [ "$code" = "$st" ] || { echo "status $code, want $st (error: '$hdr', body: '$(echo "$body" | head -c 150)')"; return; }
  case $cause in
    -) prefix= ;; exit) prefix="exit status" ;; trap) prefix="trap:" ;; timeout) prefix="timeout:" ;;
    output_limit) prefix="output limit:" ;; guest_error) prefix="guest error:" ;; *) prefix="?$cause" ;;
  esac
  if [ -z "$prefix" ]; then [ -z "$hdr" ] || { echo "unexpected X-Kernless-Error '$hdr'"; return; }
  else [[ "$hdr" == "$prefix"* ]] || { echo "X-Kernless-Error '$hdr', want '$prefix...'"; return; }; fi
  while [ -n "$needles" ]; do
    n=${needles%% && *}
    if [ "$n" = "$needles" ]; then needles=; else needles=${needles#* && }; fi
    case "$n" in
      '!'*) [[ "$body" != *"${n#!}"* ]] || { echo "body must not contain '${n#!}': '$(echo "$body" | head -c 150)'"; return; } ;;
      *) [[ "$hdr $body" == *"$n"* ]] || { echo "want '$n' in '$hdr' / '$(echo "$body" | head -c 200)'"; return; } ;;
    esac
  done
  if [ "$cause" = timeout ]; then   # generous bounds: it fired, and not absurdly late
    awk -v t="$t" 'BEGIN { exit !(t >= 0.25 && t <= 15) }' || { echo "timeout after ${t}s, want 0.25..15 s"; return; }
  fi
}
# result LABEL NAME WHY: PASS when WHY is empty, else FAIL with it.
result() {
  if [ -z "$3" ]; then pass "$1 $2"; else fail "$1 $2" "$3"; fi
}
# round LABEL REPEAT: every served case REPEAT times in a row (so a warm VM is
# reused after its trap, timeout or limit), one check per case.
round() {
  local label=$1 reps=$2 name i why
  for name in "${SERVED[@]}"; do
    why=
    for i in $(seq 1 "$reps"); do
      hit "$name" "$W/out/$label.$name.$i"
      w=$(verify "$name" "$W/out/$label.$name.$i")
      [ -n "$w" ] && why="$why request $i: $w;"
    done
    result "$label" "$name" "$why"
  done
}
# concurrent LABEL: every served case at once.
concurrent() {
  local label=$1 name pids= i why=
  for i in 1; do
    for name in "${SERVED[@]}"; do hit "$name" "$W/out/$label.$name.$i" & pids="$pids $!"; done
  done
  wait $pids   # not a bare wait: the server and the control loop are children too
  for i in 1; do
    for name in "${SERVED[@]}"; do
      w=$(verify "$name" "$W/out/$label.$name.$i")
      [ -n "$w" ] && why="$why $name: $w;"
    done
  done
  if [ -z "$why" ]; then pass "$label (${#SERVED[@]} cases at once)"; else fail "$label" "$why"; fi
}
# Host VMs of the hostile functions, ready ones included, from /metrics (the
# control keeps its own).
# No metrics (no kernless_info line: /metrics failed) is no count, never 0.
hostile_vms() {
  curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$ADMIN/metrics" |
    awk '/^kernless_info/ { ok = 1 } /^kernless_pool_(ready_)?vms\{/ && !/pool="control@/ { n += $2 }
         END { if (ok) print n + 0; else print "unknown (/metrics gave no kernless_info)" }'
}
# wait_reaped: until every hostile function's VMs are gone (idle reaper), max 20 s
wait_reaped() {
  local i
  for i in $(seq 1 100); do [ "$(hostile_vms)" = 0 ] && return 0; sleep 0.2; done
  return 1
}
# The fd count is sampled several times and the smallest taken: a control
# request in flight holds one socket for a few milliseconds.
fd_count() {
  local i n min=999999
  for i in $(seq 1 10); do
    n=$(ls "/proc/$SPID/fd" 2>/dev/null | wc -l)
    [ "$n" -lt "$min" ] && min=$n
    sleep 0.03
  done
  echo "$min"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SPID/status"; }
fd_list() { ls -l "/proc/$SPID/fd" 2>/dev/null | awk '{ print $NF }' | sed 's/[0-9]\{4,\}/N/g' | sort; }

# wait_optimiser_idle: until no function is "optimising" (max 300 s). The
# background optimiser (tiered deploys) holds a pipe to its compiler while it
# works: a baseline taken then would count a descriptor the server gives back.
wait_optimiser_idle() {
  local i
  for i in $(seq 1 300); do
    curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/functions" |
      grep -q '"optimising"' || return 0
    sleep 1
  done
  return 1
}
round warmup 2
concurrent warmup_concurrent
if wait_optimiser_idle; then pass "optimiser_idle_before_baseline"; else fail "optimiser_idle_before_baseline" "a function was still optimising after 300 s"; fi
if wait_reaped; then pass "warmup_vms_reaped"; else fail "warmup_vms_reaped" "$(hostile_vms) hostile VMs still alive"; fi
sleep 1
BASE_FD=$(fd_count); BASE_RSS=$(rss_kb); fd_list >"$W/fds.base"
# Guest memory holds request data and the secrets a request opened: none of
# it may land in a core dump of the server. Every sandbox memfd mapping
# (process backend) carries VM_DONTDUMP ("dd" in smaps' VmFlags), and warm
# VMs' guest RAM adds up to at least 1 MiB of dd memory (the KVM backend's
# is anonymous; adjacent mappings merge, so it is counted in bytes).
read -r dd_kb memfds bad <<<"$(awk '
  /^[0-9a-f]+-[0-9a-f]+ / { g = ($0 ~ /memfd:kl-(low|mem)/); anon = (NF == 5); if (g) n++ }
  /^Size:/ { size = $2 }
  /^VmFlags:/ { if ($0 ~ / dd( |$)/) { if (anon || g) kb += size } else if (g) bad++ }
  END { printf "%.0f %d %d\n", kb + 0, n + 0, bad + 0 }' "/proc/$SPID/smaps")"
if [ "$dd_kb" -ge 1024 ] && [ "$bad" = 0 ]; then pass "guest_memory_not_in_core_dumps ($dd_kb kB, $memfds memfd mappings)"
else fail "guest_memory_not_in_core_dumps" "$dd_kb kB of guest memory marked DONTDUMP, $bad of $memfds sandbox memfd mappings without it"; fi
echo "baseline: $BASE_FD fds, RSS $BASE_RSS kB, $(threads) threads"

round again 3
concurrent again_concurrent
round last 1

# ---- logs stay bounded --------------------------------------------------------------------
"$KL" logs flood_stderr_lines --json >"$W/logs.json" 2>&1
maxper=$(grep -o '"request_id": *"[^"]*"' "$W/logs.json" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
if [ -n "$maxper" ] && [ "$maxper" -le 1001 ]; then pass "stderr_lines_capped_per_request ($maxper)"
else fail "stderr_lines_capped_per_request" "want at most 1000 lines + 1 note per request, got '${maxper:-none}': $(head -c 200 "$W/logs.json")"; fi

# ---- back to baseline -------------------------------------------------------------
if wait_reaped; then pass "vms_reaped"; else fail "vms_reaped" "$(hostile_vms) hostile VMs still alive"; fi
sleep 1
END_FD=$(fd_count); END_RSS=$(rss_kb); fd_list >"$W/fds.end"
echo "after: $END_FD fds, RSS $END_RSS kB, $(threads) threads (baseline $BASE_FD fds, $BASE_RSS kB; tolerance $RSS_TOLERANCE_KB kB)"
if [ "$END_FD" = "$BASE_FD" ]; then pass "fds_back_to_baseline ($END_FD)"
else fail "fds_back_to_baseline" "$END_FD fds, baseline $BASE_FD: $(diff "$W/fds.base" "$W/fds.end" | grep '^[<>]' | head -5 | tr '\n' ' ')"; fi
if [ -n "$END_RSS" ] && [ "$END_RSS" -le $((BASE_RSS + RSS_TOLERANCE_KB)) ]; then
  pass "rss_back_to_baseline (+$((END_RSS - BASE_RSS)) kB)"
else
  fail "rss_back_to_baseline" "RSS $END_RSS kB, baseline $BASE_RSS kB + $RSS_TOLERANCE_KB kB"
fi
left=$(find "$W/data" -name '*.tmp.*' 2>/dev/null; [ -d "$W/data/build" ] && find "$W/data/build" -mindepth 1)
check "no_temp_files_at_end" "" "$left"

# ---- the control function was served throughout ------------------------------------
stop_control
total=$(grep -c '' "$W/control.log"); good=$(grep -c '^ok$' "$W/control.log")
if [ "$total" -ge 20 ] && [ "$good" = "$total" ]; then pass "control_served_throughout ($good/$total)"
else fail "control_served_throughout" "$good of $total ok: $(grep -v '^ok$' "$W/control.log" | head -3 | tr '\n' ' ')"; fi

# ---- a clean shutdown, and not one sanitizer report -------------------------------------------
kill -0 "$SPID" 2>/dev/null && pass "server_alive" || fail "server_alive" "the server died: $(tail -c 300 "$W/serve.err")"
cp -n "$W/data/images"/*.kimg "$CACHE/" 2>/dev/null
stop_server
s=$(grep -m3 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$W/serve.err")
check "no_sanitizer_reports" "" "$s"

# ---- deadlines, descriptors and saturation, on every backend (own servers) -----------------
KL_DEADLINES_SOURCED=1
. "$H/deadlines.sh"
echo "runtime: $(( $(date +%s) - T_START )) s"

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
