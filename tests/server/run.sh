#!/usr/bin/env bash
# run.sh - server suite: unit tests of the parsers, then a real `kernless serve` driven with curl and the CLI.
#
# Usage: tests/server/run.sh BUILD. Uses BUILD/san/kernless (ASan/UBSan) when
# present, else BUILD/kernless; KERNLESS_BIN overrides. Prints one line per
# check and, last, "server: N passed, N failed".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
kl_each_backend server   # once per backend the host has (tests/lib.sh)
W=$BUILD/server-test
rm -rf "$W"; mkdir -p "$W/fn"
finish() {
  kl_stop
  kl_finish server
  exit $?
}
trap finish EXIT

# ---- unit tests of the untrusted-input parsers (no server needed) ----------
UCF="-std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -D_GNU_SOURCE -Iinclude -Isrc -Itests/unit"
USAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# Each test with the sources it needs (standalone: no core objects required).
unit_srcs() {
  case $1 in
    fnconfig) echo "src/server/fnconfig.c src/server/fnconfig_svc.c src/host/svc_url.c src/server/router.c src/server/datadir.c src/common/util.c src/common/err.c -ljansson -lnettle -lcurl" ;;
    metrics) echo "src/server/metrics.c src/server/latwin.c -ljansson -lm" ;;
    cgi_response) echo "src/server/cgi_response.c src/common/err.c" ;;
    *) echo "src/server/$1.c" ;;
  esac
}
for t in cgi_response wagi_env router fnconfig metrics; do
  if ! gcc $UCF $USAN tests/server/unit/test_$t.c $(unit_srcs $t) src/common/buf.c \
       -o "$W/test_$t" 2>"$W/test_$t.log"; then
    fail "unit_$t" "does not build: $(head -c 300 "$W/test_$t.log")"; continue
  fi
  out=$("$W/test_$t" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass "unit_$t"; else fail "unit_$t" "$(echo "$out" | grep FAIL | head -3)"; fi
done

# ---- build the functions --------------------------------------------------
if [ ! -x "$KL" ]; then fail "binary" "no kernless binary at $KL"; exit 1; fi
if ! "$KL" serve --help 2>&1 | grep -q 'usage: kernless serve'; then
  fail "binary" "$KL does not dispatch 'serve' (src/cli/main.c)"; exit 1
fi
cc_wasm() { clang --target=wasm32-wasi -O2 "$1" -o "$2" -Wl,--strip-debug 2>>"$W/build.log"; }
ok=1
cc_wasm examples/wagi-hello/hello.c "$W/fn/hello.wasm" || ok=0
cc_wasm examples/wagi-echo/echo.c "$W/fn/echo.wasm" || ok=0
cc_wasm examples/wagi-redirect/redirect.c "$W/fn/redirect.wasm" || ok=0
cc_wasm examples/wagi-cookies/cookies.c "$W/fn/cookies.wasm" || ok=0
for f in trap loop v2 swscope; do cc_wasm tests/server/fn/$f.c "$W/fn/$f.wasm" || ok=0; done
/usr/bin/rustc --target wasm32-wasi -O -C strip=debuginfo examples/wagi-echo-rust/echo.rs \
  -o "$W/fn/echo_rs.wasm" 2>>"$W/build.log" || ok=0
if [ $ok -eq 1 ]; then pass "build_functions"; else fail "build_functions" "$(head -c 300 "$W/build.log")"; exit 1; fi

# ---- --isolation: refused at once, before the data folder ---------------------
# serve_refuses NAME WANT [serve args...]: exits non-zero with one line
# "kernless: ...WANT..." and creates nothing. Parsing and an explicit kvm
# need no working backend.
serve_refuses() {
  local name=$1 want=$2 out rc; shift 2
  out=$(timeout 30 "$KL" serve --listen 127.0.0.1:0 --data "$W/iso-data" "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
     [[ $out == "kernless: "*"$want"* ]] && [ ! -e "$W/iso-data" ]; then
    pass "$name"
  else
    fail "$name" "exit $rc; want one 'kernless: ...$want...' line and no data folder, got: $(echo "$out" | head -c 300)"
  fi
}
serve_refuses admin_listen_bad "--admin-listen wants HOST:PORT, got \"8081\"" --admin-listen 8081
serve_refuses isolation_bogus "--isolation must be auto, kvm or process, got 'bogus'" --isolation bogus
KERNLESS_ISOLATION=vm serve_refuses isolation_env_bogus "KERNLESS_ISOLATION must be auto, kvm or process, got 'vm'"
if [ ! -e /dev/kvm ]; then
  serve_refuses isolation_kvm_without_kvm /dev/kvm --isolation kvm
  KERNLESS_ISOLATION=kvm serve_refuses isolation_env_kvm_without_kvm "KERNLESS_ISOLATION=kvm"
  # The flag (here in its --opt=value form) wins over the environment.
  KERNLESS_ISOLATION=bogus serve_refuses isolation_flag_beats_env /dev/kvm --isolation=kvm
fi

# ---- start the server -----------------------------------------------------
export KERNLESS_DATA=$W/data
unset KERNLESS_TOKEN
start_server() { kl_serve "$W/serve.out" "$W/serve.err" --data "$W/data" --max-body-mb 1; }
stop_server() { kl_stop; }
start_server
if [ -z "$PORT" ]; then
  fail "server_start" "no listening line; stderr: $(tail -c 400 "$W/serve.err")"; exit 1
fi
pass "server_start"
check "token_file_mode" "600" "$(stat -c %a "$W/data/admin.token" 2>&1)"
check "data_dir_mode" "700" "$(stat -c %a "$W/data" 2>&1)"
check_has "token_location_printed" "$W/data/admin.token" "$(cat "$W/serve.out")"
TOKEN=$(cat "$W/data/admin.token")
C="curl -s --max-time 20"
code() { $C -o /dev/null -w '%{http_code}' "$@"; }

check "healthz" "200" "$(code "$U/healthz")"
# The backend in use: in the start line, /healthz and /metrics, the same
# everywhere. Without /dev/kvm auto must have fallen back to the process
# sandbox and said why, once, in the log.
ISO=$(sed -nE 's/^kernless: serving .*, isolation ([a-z]+)\)$/\1/p' "$W/serve.out" | head -n 1)
case $ISO in kvm|process) pass "start_line_isolation" ;;
  *) fail "start_line_isolation" "no 'isolation kvm|process' in: $(head -c 300 "$W/serve.out")" ;; esac
if [ -n "${KERNLESS_ISOLATION:-}" ]; then   # a pass of kl_each_backend that names its backend
  check "isolation_as_asked" "$KERNLESS_ISOLATION" "$ISO"
elif [ -e /dev/kvm ]; then
  check "isolation_kvm" "kvm" "$ISO"
  check "isolation_no_fallback_line" "0" "$(grep -c 'KVM not usable' "$W/serve.err")"
else
  check "isolation_no_kvm_process" "process" "$ISO"
  check "isolation_fallback_line" "1" "$(grep -c 'kernless: isolation: process (KVM not usable: .*/dev/kvm' "$W/serve.err")"
fi
h=$($C "$U/healthz")
check "healthz_status" "ok" "$(echo "$h" | jq -r .status 2>&1)"
check "healthz_isolation" "$ISO" "$(echo "$h" | jq -r .isolation 2>&1)"
check "api_401_no_token" "401" "$(code "$ADMIN/v1/functions")"
check "api_401_bad_token" "401" "$(code -H 'Authorization: Bearer 0000' "$ADMIN/v1/functions")"
check "metrics_401_no_token" "401" "$(code "$ADMIN/metrics")"
out=$(KERNLESS_TOKEN=bad "$KL" ls 2>&1); rc=$?
check_err "cli_401" "$rc" "HTTP 401" "$out"

# ---- deploy and call ------------------------------------------------------
deploy() { "$KL" deploy "$@" >"$W/deploy.out" 2>"$W/deploy.err"; }
if deploy echo "$W/fn/echo.wasm" --route '/echo/...' --env ECHO_WHO=c --env PATH_INFO=spoofed; then
  pass "deploy_c_echo"
else
  fail "deploy_c_echo" "$(cat "$W/deploy.err")"
fi
check_has "deploy_shows_progress" "compiling (" "$(cat "$W/deploy.err")"
out=$($C -X PUT -H 'X-Test: one' -H 'X-Test: two' --data-binary 'hello body' \
      "$U/echo/a%20b/c?x=1&y=%41+B")
check_has "c_echo_method" "method: PUT" "$out"
check_has "c_echo_path_info" "path: /a b/c" "$out"
check_has "c_echo_raw_path" "raw_path: /a%20b/c" "$out"
check_has "c_echo_script_name" "script: /echo" "$out"
check_has "c_echo_query" "query: x=1&y=%41+B" "$out"
check_has "c_echo_argv" "argv[2]: y=A B" "$out"
check_has "c_echo_headers" "env: HTTP_X_TEST=one, two" "$out"
check_has "c_echo_fn_env" "env: ECHO_WHO=c" "$out"
check_has "c_echo_body" "body: hello body" "$out"
check_has "c_echo_content_length" "content_length: 10" "$out"
hdrs=$($C -D - -o /dev/null "$U/echo/x")
check_has "request_id_header" "X-Request-Id: " "$hdrs"

if deploy echors "$W/fn/echo_rs.wasm" --route '/rs/...'; then pass "deploy_rust_echo"
else fail "deploy_rust_echo" "$(cat "$W/deploy.err")"; fi
out=$($C --data-binary 'rust body' -H 'X-Rust: yes' "$U/rs/p/q?k=v")
check_has "rust_echo_fn" "X-Echo-Function" "$($C -D - -o /dev/null "$U/rs/p")"
check_has "rust_echo_path" "path: /p/q" "$out"
check_has "rust_echo_query" "query: k=v" "$out"
check_has "rust_echo_header" "env: HTTP_X_RUST=yes" "$out"
check_has "rust_echo_body" "body: rust body" "$out"

# ---- routing precedence (the same module under three routes: cached compile)
deploy r-prefix "$W/fn/echo.wasm" --route '/r/...' --env ECHO_WHO=prefix &&
deploy r-deep "$W/fn/echo.wasm" --route '/r/deep/...' --env ECHO_WHO=deep &&
deploy r-exact "$W/fn/echo.wasm" --route '/r/deep/exact' --env ECHO_WHO=exact
check_has "deploy_cached" "cached" "$(cat "$W/deploy.out")"
who() { $C "$U$1" | grep '^env: ECHO_WHO=' | sed 's/.*=//'; }
check "route_prefix" "prefix" "$(who /r/x)"
check "route_prefix_base" "prefix" "$(who /r)"
check "route_longest_prefix" "deep" "$(who /r/deep/y)"
check "route_exact_wins" "exact" "$(who /r/deep/exact)"
check "route_exact_is_exact" "deep" "$(who /r/deep/exact/z)"
check "route_no_partial_segment" "404" "$(code "$U/rx")"
out=$("$KL" deploy dup "$W/fn/hello.wasm" --route '/r/...' 2>&1); rc=$?
check_err "route_conflict_409" "$rc" "HTTP 409" "$out"

# ---- redirect and cookies ---------------------------------------------------
deploy redir "$W/fn/redirect.wasm" --route /go --env REDIRECT_TO=https://example.com/next
hdrs=$($C -D - -o /dev/null "$U/go")
check "redirect_status" "302" "$(code "$U/go")"
check_has "redirect_location" "Location: https://example.com/next" "$hdrs"
deploy cookies "$W/fn/cookies.wasm" --route /cookies
hdrs=$($C -D - -o /dev/null "$U/cookies")
check "cookies_count" "3" "$(echo "$hdrs" | grep -c '^Set-Cookie: ')"
check "cookies_status" "201" "$(code "$U/cookies")"

# ---- bad module, versions, rollback ---------------------------------------
deploy hello "$W/fn/hello.wasm" --route /hello
check "hello_v1" "Hello from Kernless!" "$($C "$U/hello")"
printf '\0asm\1\0\0\0garbage!' >"$W/fn/bad.wasm"
out=$("$KL" deploy hello "$W/fn/bad.wasm" --route /hello 2>&1); rc=$?
check "bad_wasm_exit" "1" "$rc"
check_has "bad_wasm_message" "rejected (HTTP 422)" "$out"
check "bad_wasm_old_serves" "Hello from Kernless!" "$($C "$U/hello")"
deploy hello "$W/fn/v2.wasm" --route /hello
check "redeploy_v2" "version two" "$($C "$U/hello")"
"$KL" rollback hello >"$W/rb.out" 2>&1
check "rollback_previous" "Hello from Kernless!" "$($C "$U/hello")"
check_has "rollback_no_compile" "now serves version 1" "$(cat "$W/rb.out")"
"$KL" rollback hello 2 >/dev/null 2>&1
check "rollback_to_2" "version two" "$($C "$U/hello")"
out=$("$KL" info hello --json 2>&1)
check_has "info_json_active" '"active": 2' "$out"
check "info_versions" "2" "$(echo "$out" | grep -c '"sha256"' | awk '{print ($1 >= 2) ? 2 : $1}')"
out=$("$KL" ls 2>&1)
check_has "ls_lists" "echors" "$out"

# ---- failures are isolated ----------------------------------------------------
deploy trap "$W/fn/trap.wasm" --route /trap
hdrs=$($C -D - -o /dev/null "$U/trap")
check "trap_500" "500" "$(code "$U/trap")"
check_has "trap_error_header" "X-Kernless-Error: trap: " "$hdrs"
check "after_trap_others_serve" "version two" "$($C "$U/hello")"
out=$("$KL" logs trap 2>&1)
check_has "logs_stderr_with_request_id" "about to trap" "$out"
rid=$(echo "$hdrs" | grep -i '^X-Request-Id:' | tr -d '\r' | awk '{print $2}')
check_has "logs_tagged_request_id" "[$rid]" "$out"

deploy loop "$W/fn/loop.wasm" --route /loop --timeout-ms 1500
t0=$(date +%s%N)
$C -o "$W/loop.body" -w '%{http_code}' "$U/loop" >"$W/loop.code" &
lpid=$!
sleep 0.3
t1=$(date +%s%N)
check "during_loop_others_serve" "version two" "$($C "$U/hello")"
t2=$(date +%s%N)
wait $lpid
t3=$(date +%s%N)
check "loop_504" "504" "$(cat "$W/loop.code")"
ms=$(( (t3 - t0) / 1000000 ))
if [ $ms -ge 1400 ] && [ $ms -le 5000 ]; then pass "loop_within_timeout"
else fail "loop_within_timeout" "expected 1500..5000 ms, got $ms ms"; fi
ms=$(( (t2 - t1) / 1000000 ))
if [ $ms -le 1000 ]; then pass "not_blocked_by_loop"
else fail "not_blocked_by_loop" "expected under 1000 ms, got $ms ms"; fi

# ---- limits -----------------------------------------------------------------
head -c 2000000 /dev/zero >"$W/big.bin"
check "body_413" "413" "$(code --data-binary @"$W/big.bin" "$U/echo/x")"
check "body_413_chunked" "413" "$(code -H 'Transfer-Encoding: chunked' --data-binary @"$W/big.bin" "$U/echo/x")"
check "url_414" "414" "$(code "$U/echo/$(head -c 9000 /dev/zero | tr '\0' a)")"
check "headers_431" "431" "$(code -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)" "$U/echo/x")"
check "malformed_path_400" "400" "$(code "$U/echo/%zz")"

# ---- 100 concurrent requests ----------------------------------------------------
pids=
for i in $(seq 1 100); do
  $C --data-binary "req-$i" "$U/echo/c?i=$i" >"$W/conc.$i" 2>&1 &
  pids="$pids $!"
done
wait $pids   # not a bare wait: the server is a background child too
good=0
for i in $(seq 1 100); do
  grep -q "^body: req-$i\$" "$W/conc.$i" && grep -q "^query: i=$i\$" "$W/conc.$i" && good=$((good+1))
done
check "concurrent_100" "100" "$good"

# ---- invoke, metrics, json ----------------------------------------------------
out=$("$KL" invoke echo --data 'from invoke' 2>&1)
check_has "invoke_body" "body: from invoke" "$out"
check "invoke_no_token_leak" "" "$(echo "$out" | grep -i authorization)"
out=$("$KL" invoke trap 2>&1); rc=$?
check_err "invoke_trap_error" "$rc" "HTTP 500: trap" "$out"
m=$($C -H "Authorization: Bearer $TOKEN" "$ADMIN/metrics")
check_has "metrics_requests" 'kernless_requests_total{function="echo",code="200"}' "$m"
check_has "metrics_errors" 'kernless_errors_total{function="trap",cause="trap"}' "$m"
check_has "metrics_histogram" 'kernless_request_duration_seconds_bucket{function="echo",le="+Inf"}' "$m"
check_has "metrics_isolation" "kernless_info{isolation=\"$ISO\"} 1" "$m"
check_has "ls_json" '"functions"' "$("$KL" ls --json 2>&1)"

# ---- admin on its own origin (issue 20, finding 4) ---------------------------
# A function's page shared its origin with the dashboard and /v1: a service
# worker it registers with scope "/" saw the dashboard's API calls, token
# included. Functions and the admin side now answer only on their own
# listener, and no function can widen a service worker's scope at all.
AUTH="Authorization: Bearer $TOKEN"
check "admin_listener_apart" "1" "$([ -n "$APORT" ] && [ "$APORT" != "$PORT" ] && echo 1)"
check "admin_api_not_on_function_listener" "404 404 404 200 200" \
  "$(code -H "$AUTH" "$U/v1/functions") $(code -H "$AUTH" "$U/v1") $(code -H "$AUTH" "$U/metrics") $(code -H "$AUTH" "$ADMIN/v1/functions") $(code -H "$AUTH" "$ADMIN/metrics")"
check "dashboard_not_on_function_listener" "404 404 404 200 200" \
  "$(code "$U/_/") $(code "$U/_/app.js") $(code "$U/_") $(code "$ADMIN/_/") $(code "$ADMIN/_/app.js")"
check "admin_listener_serves_no_function" "404 404 version two" \
  "$(code "$ADMIN/hello") $(code -X POST --data-binary x "$ADMIN/echo/x") $($C "$U/hello")"
check_has "admin_listener_no_function_reason" "serves no function" "$($C "$ADMIN/hello")"
check "admin_root_to_dashboard" "307 /_/" "$($C -o /dev/null -w '%{http_code} %{redirect_url}' "$ADMIN/" | sed "s|$ADMIN||")"
check "healthz_on_both_listeners" "200 200" "$(code "$U/healthz") $(code "$ADMIN/healthz")"
deploy swscope "$W/fn/swscope.wasm" --route /sw
hdrs=$($C -D - -o /dev/null "$U/sw" | tr -d '\r')
check_has "function_headers_control" "X-Sw-Control: ran" "$hdrs"
check "function_cannot_widen_service_worker_scope" "" "$(echo "$hdrs" | grep -i '^service-worker-allowed:')"
check "function_cannot_clear_site_data" "" "$(echo "$hdrs" | grep -i '^clear-site-data:')"
# The admin side's answers are neither embeddable nor readable by another
# origin, and an invoked function's output there is never a live document.
hdrs=$($C -D - -o /dev/null -H "$AUTH" "$ADMIN/v1/functions" | tr -d '\r')
check_has "admin_api_not_embeddable" "X-Frame-Options: DENY" "$hdrs"
check_has "admin_api_same_origin_only" "Cross-Origin-Resource-Policy: same-origin" "$hdrs"
hdrs=$($C -D - -o /dev/null -X POST -H "$AUTH" "$ADMIN/v1/functions/swscope/invoke" | tr -d '\r')
check_has "admin_invoke_sandboxed" "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; sandbox" "$hdrs"
check "admin_invoke_cannot_widen_service_worker_scope" "" "$(echo "$hdrs" | grep -i '^service-worker-allowed:')"
hdrs=$($C -D - -o /dev/null "$ADMIN/_/" | tr -d '\r')
check_has "dashboard_same_origin_only" "Cross-Origin-Resource-Policy: same-origin" "$hdrs"
check "dashboard_one_csp" "1" "$(echo "$hdrs" | grep -ci '^content-security-policy:')"

# ---- rm ------------------------------------------------------------------------------
"$KL" rm cookies >/dev/null 2>&1
check "rm_route_gone" "404" "$(code "$U/cookies")"
check "rm_not_listed" "" "$("$KL" ls 2>&1 | grep '^cookies ')"
check "rm_again_404" "1" "$("$KL" rm cookies >/dev/null 2>&1; echo $?)"

# ---- restart keeps everything, without compiling ----------------------------------
imgs_before=$(ls -l --time-style=+%s%N "$W/data/images" | md5sum)
stop_server
start_server
if [ -z "$PORT" ]; then fail "restart" "server did not come back: $(tail -c 300 "$W/serve.err")"; exit 1; fi
check_has "restart_functions" "serving 10 function(s)" "$(cat "$W/serve.out")"
check "restart_hello" "version two" "$($C "$U/hello")"
check_has "restart_echo" "body: again" "$($C --data-binary again "$U/echo/x")"
check_has "restart_rust" "body: again" "$($C --data-binary again "$U/rs/x")"
check "restart_no_compile" "$imgs_before" "$(ls -l --time-style=+%s%N "$W/data/images" | md5sum)"
check "restart_no_recompile_log" "" "$(grep 'compiling the stored module' "$W/serve.err")"
check "restart_same_token" "$TOKEN" "$(cat "$W/data/admin.token")"
# ---- a lost image is compiled again from the stored module ---------------------------
# table.c asks the rebuild hook serve.c sets (kl_deploy_rebuild); without the
# hook the function would answer 503 "image unavailable".
stop_server
img=$(python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("SELECT v.image FROM versions v JOIN functions f ON f.name = v.name AND f.active = v.version WHERE f.name = ?", ("hello",)).fetchone()[0])' "$W/data/registry.db" 2>&1)
check "lost_image_found" "1" "$([ -n "$img" ] && [ -f "$W/data/images/$img" ] && echo 1)"
rm -f "$W/data/images/$img"
start_server
if [ -z "$PORT" ]; then fail "lost_image_restart" "server did not come back: $(tail -c 300 "$W/serve.err")"; exit 1; fi
check "lost_image_rebuilt" "version two" "$($C "$U/hello")"
check_has "lost_image_rebuilt_log" "compiling the stored module again" "$(cat "$W/serve.err")"

# The admin token was sent with every API call above (and a wrong one too):
# it appears in none of the server's output, nor in any function's logs.
check "token_never_logged" "" "$(grep -lF "$TOKEN" "$W/serve.out" "$W/serve.err" 2>/dev/null)"
check "token_not_in_fn_logs" "" "$("$KL" logs echo 2>&1 | grep -F "$TOKEN")"

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
