#!/usr/bin/env bash
# run.sh - outbound suite: host services (outbound HTTP, key-value stores, variables and secrets) against real servers on loopback.
#
# Usage: tests/outbound/run.sh BUILD. Runs once per backend (tests/lib.sh).
# The allow-list is checked first on its own (unit_url.c: every spelling
# trick next to the plain form that passes), then through a real `kernless
# serve` and a real HTTP server (upstream.py): allowed and refused hosts,
# redirects, the admin origin, limits, a KV counter, a secret sought in
# every log, API answer, metric and dashboard page; then, where PostgreSQL
# can run, a KV counter incremented from two nodes sharing it.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
. scripts/cluster-lib.sh
kl_each_backend outbound
W=$BUILD/outbound-test
rm -rf "$W"; mkdir -p "$W"
UPID=; PGD=; N2PID=
finish() {
  kl_stop
  [ -n "$N2PID" ] && kill "$N2PID" 2>/dev/null && wait "$N2PID" 2>/dev/null
  [ -n "$UPID" ] && kill "$UPID" 2>/dev/null && wait "$UPID" 2>/dev/null
  [ -n "$PGD" ] && { kl_pg_stop "$PGD" immediate; rm -rf "$PGD"; }
  kl_finish outbound
  exit $?
}
trap finish EXIT
C="curl -s -g --max-time 20"

# ---- the allow-list on its own ------------------------------------------------
if gcc -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE -Iinclude -Isrc \
     -fsanitize=address,undefined -fno-sanitize-recover=undefined \
     tests/outbound/unit_url.c src/host/svc_url.c src/common/err.c -lcurl -o "$W/unit_url" 2>"$W/unit_url.log"; then
  out=$("$W/unit_url" 2>&1)
  if [ $? -eq 0 ]; then pass unit_allow_list; else fail unit_allow_list "$(echo "$out" | head -5)"; fi
else
  fail unit_allow_list "does not build: $(head -c 300 "$W/unit_url.log")"
fi

# A C project gets the SDK header (it has no kernless source tree), embedded
# from include/kernless/sdk.h at build time: what `new c` writes is that file.
kl_abs=$(realpath "$KL")
if (cd "$W" && "$kl_abs" new c sdkcheck >/dev/null 2>&1) && [ -f "$W/sdkcheck/kernless_sdk.h" ]; then
  check sdk_template_is_include "" "$(cmp include/kernless/sdk.h "$W/sdkcheck/kernless_sdk.h" 2>&1)"
else
  fail sdk_template_is_include "kernless new c wrote no kernless_sdk.h"
fi

# ---- the function, the upstream server, the kernless server -------------------
[ -x "$KL" ] || { fail binary "no kernless binary at $KL"; exit 1; }
for f in fn_svc fn_preinit; do
  clang --target=wasm32-wasi -O2 -Iinclude tests/outbound/$f.c -o "$W/$f.wasm" \
    -Wl,--strip-debug 2>"$W/build.log" || { fail build_function "$(head -c 300 "$W/build.log")"; exit 1; }
done
UP=$(kl_free_port); OTHER=$(kl_free_port)
python3 tests/outbound/upstream.py "$UP" "$OTHER" 2>"$W/upstream.err" & UPID=$!
python3 -m http.server "$OTHER" --bind 127.0.0.1 --directory "$W" >/dev/null 2>&1 & OPID=$!
for _ in $(seq 1 50); do $C -o /dev/null "http://127.0.0.1:$UP/hello" && break; sleep 0.1; done
export KERNLESS_DATA=$W/data
unset KERNLESS_TOKEN
kl_serve "$W/serve.out" "$W/serve.err" --data "$W/data"
[ -n "$PORT" ] || { fail serve_start "$(tail -c 300 "$W/serve.err")"; kill $OPID; exit 1; }
TOKEN=$(cat "$W/data/admin.token")
AUTH=(-H "Authorization: Bearer $TOKEN")
deploy() { "$KL" deploy "$@" >"$W/deploy.log" 2>&1 || fail "deploy_$1" "$(tail -c 300 "$W/deploy.log")"; }
SECRET="S3cr3t-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$SECRET" | "$KL" secret set api_key >"$W/secret.log" 2>&1 ||
  fail secret_set "$(cat "$W/secret.log")"
deploy svc "$W/fn_svc.wasm" --route /svc --allow-outbound "http://127.0.0.1:$UP" \
  --kv default --var greeting=hi --var key=secret:api_key
deploy wide "$W/fn_svc.wasm" --route /wide --allow-outbound "http://127.0.0.1:*" --kv default
deploy bare "$W/fn_svc.wasm" --route /bare
deploy quick "$W/fn_svc.wasm" --route /quick --timeout-ms 1500 --allow-outbound "http://127.0.0.1:$UP"
fn() { $C "$U/$1?$2"; }
H="http://127.0.0.1:$UP"

# ---- outbound HTTP: each refusal next to the allowed call it differs from ------
check http_allowed "ok 200 hello-upstream" "$(fn svc "op=http&url=$H/hello")"
check http_headers_sent "ok 200 x-test=1" "$(fn svc "op=http&url=$H/headers")"
check http_post "ok 200 posted:ping" "$(fn svc "op=http&method=POST&url=$H/x")"
check_has http_other_port_denied "err 1 http: http://127.0.0.1:$OTHER is not in allowed_outbound_hosts" \
  "$(fn svc "op=http&url=http://127.0.0.1:$OTHER/")"
check_has http_other_scheme_denied "err 1 " "$(fn svc "op=http&url=https://127.0.0.1:$UP/hello")"
check_has http_userinfo_denied "err 1 http: a URL with userinfo" "$(fn svc "op=http&url=http://u@127.0.0.1:$UP/hello")"
check_has http_hex_ip_denied "err 1 http: host is not written canonically" "$(fn svc "op=http&url=http://0x7f.0.0.1:$UP/hello")"
check_has http_int_ip_denied "err 1 http: host is not written canonically" "$(fn svc "op=http&url=http://2130706433:$UP/hello")"
check_has http_trailing_dot_denied "err 1 " "$(fn wide "op=http&url=http://127.0.0.1.:$UP/hello")"
check "http_localhost_control" "ok 200 hello-upstream" "$(fn wide "op=http&url=http://127.0.0.1:$UP/hello")"
deploy named "$W/fn_svc.wasm" --route /named --allow-outbound "http://localhost:*"
check "http_dns_name" "ok 200 hello-upstream" "$(fn named "op=http&url=http://localhost:$UP/hello")"
check_has http_dns_name_trailing_dot "err 1 http: host localhost. has an empty label or a trailing dot" "$(fn named "op=http&url=http://localhost.:$UP/hello")"
check_has http_dns_name_admin_denied "err 1 http: localhost:$APORT is this server's own management origin" "$(fn named "op=http&url=http://localhost:$APORT/v1/functions")"
check_has http_v4mapped_denied "err 1 http: an IPv4 address written as IPv6" "$(fn wide "op=http&url=http://[::ffff:127.0.0.1]:$UP/hello")"
check http_redirect_allowed "ok 200 hello-upstream" "$(fn svc "op=http&url=$H/redir-ok")"
check_has http_redirect_denied "err 1 http: http://127.0.0.1:$OTHER is not in allowed_outbound_hosts" "$(fn svc "op=http&url=$H/redir-bad")"
check_has http_redirect_loop "err 5 http: more than 5 redirects" "$(fn svc "op=http&url=$H/redir-loop")"
check_has http_admin_origin_denied "err 1 http: 127.0.0.1:$APORT is this server's own management origin" \
  "$(fn wide "op=http&url=http://127.0.0.1:$APORT/v1/functions")"
check_has http_refused_connection "err 5 " "$(fn wide "op=http&url=http://127.0.0.1:$(kl_free_port)/")"
check_has http_undeclared_denied "err 1 http: http://127.0.0.1:$UP is not in allowed_outbound_hosts" "$(fn bare "op=http&url=$H/hello")"
check "http_deny_logged_once" 1 "$(grep -c "request [0-9a-f]*: function bare: svc: http: http://127.0.0.1:$UP is not in allowed_outbound_hosts" "$W/serve.err")"

# ---- start-up (before the snapshot) has no request and so no services ----------
# VMs made after the first request's services are gone must not see them:
# several at once make the pool start new VMs (ASan watches the server).
deploy preinit "$W/fn_preinit.wasm" --route /preinit --var greeting=hi
check preinit_first "before=1 after=0 hi" "$(fn preinit x=1)"
out=$(for i in 1 2 3 4 5 6; do fn preinit x=$i & done; wait)
check preinit_concurrent "6" "$(echo "$out" | grep -c '^before=1 after=0 hi$')"

# ---- limits -------------------------------------------------------------------
check "limit_calls_control" "ok 16" "$(fn svc "op=many&n=16&url=$H/hello")"
check_has limit_calls "ok 16 err 3 http: more than 16 outbound calls" "$(fn svc "op=many&n=17&url=$H/hello")"
check "limit_bytes_control" "ok 200 $(head -c 1000 /dev/zero | tr '\0' x)" "$(fn svc "op=http&url=$H/bytes?n=1000")"
check_has limit_bytes "err 3 http: the response is over" "$(fn svc "op=http&url=$H/bytes?n=$((9 << 20))")"
check "deadline_control" "ok 200 slow-done" "$(fn quick "op=http&url=$H/slow?ms=100")"
out=$(fn quick "op=http&url=$H/slow?ms=4000")
case $out in   # the guest gets ETIMEOUT, or the run ends at its deadline (504)
  *"err 6 "*|*"504 Gateway Timeout: timeout"*) pass deadline_hit ;;
  *) fail deadline_hit "a call past the 1500 ms deadline answered: $(echo "$out" | head -c 200)" ;;
esac
check "after_deadline_serves" "ok 200 hello-upstream" "$(fn svc "op=http&url=$H/hello")"

# ---- key-value ----------------------------------------------------------------
check kv_counter "ok 1 ok 2 ok 3" "$(for i in 1 2 3; do fn svc op=count; done | tr '\n' ' ' | sed 's/ $//')"
check kv_cli_get "3" "$("$KL" kv get default count 2>&1)"
check kv_shared_by_functions "ok 4" "$(fn wide op=count)"
"$KL" kv set default count 41 >/dev/null 2>&1
check kv_cli_set_seen "ok 42" "$(fn svc op=count)"
check kv_exists "ok 1" "$(fn svc op=exists)"
check kv_keys "ok count," "$(fn svc op=keys)"
check_has kv_cli_ls "count" "$("$KL" kv ls default 2>&1)"
check_has kv_store_undeclared "err 1 kv: store other is not declared" "$(fn svc "op=count&store=other")"
check_has kv_undeclared_fn "err 1 " "$(fn bare op=count)"
check_has kv_value_limit "err 3 kv: a value is at most 1048576 bytes" "$(fn svc op=big)"
check_has kv_key_limit "err 3 kv: a key is 1 to 256 bytes" "$(fn svc op=longkey)"
check kv_delete "ok" "$(fn svc op=del)"
check kv_deleted "ok 0" "$(fn svc op=exists)"
"$KL" kv get default count >/dev/null 2>&1
check kv_cli_get_missing_fails 1 $?

# ---- variables and secrets ----------------------------------------------------
check var_plain "ok hi" "$(fn svc "op=var&name=greeting")"
check var_secret "ok $SECRET" "$(fn svc "op=var&name=key")"
check_has var_undeclared "err 2 variable nope is not declared" "$(fn svc "op=var&name=nope")"
check_has var_other_fn "err 2 " "$(fn wide "op=var&name=key")"
check_has secret_ls_names "api_key" "$("$KL" secret ls 2>&1)"
out=$($C "${AUTH[@]}" -X GET "$ADMIN/v1/secrets/api_key")
check_has secret_no_get "never comes back" "$out"
# The value is sought everywhere it could leak; each place is shown to be
# the right one by a control (the name, or what the place normally holds).
seek() {   # seek NAME TEXT CONTROL: TEXT has CONTROL but not the secret
  case $2 in *"$SECRET"*) fail "secret_not_in_$1" "the secret's value is in it" ;;
    *"$3"*) pass "secret_not_in_$1" ;;
    *) fail "secret_not_in_$1" "control '$3' missing: $(echo "$2" | head -c 200)" ;; esac
}
seek server_log "$(cat "$W/serve.err" "$W/serve.out")" "secret api_key set"
seek registry_db "$(strings "$W/data/registry.db"; strings "$W/data/registry.db-wal" 2>/dev/null)" "api_key"
seek info_api "$($C "${AUTH[@]}" "$ADMIN/v1/functions/svc")" '"secret": "api_key"'
seek list_api "$($C "${AUTH[@]}" "$ADMIN/v1/functions")" '"svc"'
seek secrets_api "$($C "${AUTH[@]}" "$ADMIN/v1/secrets")" '"api_key"'
seek metrics "$($C "${AUTH[@]}" "$ADMIN/metrics")" 'svc'
seek stats_api "$($C "${AUTH[@]}" "$ADMIN/v1/stats")" 'svc'
seek logs_api "$($C "${AUTH[@]}" "$ADMIN/v1/functions/svc/logs")" '['
seek cli_info "$("$KL" info svc 2>&1)" "variable:   key = secret:api_key"
dash=""
for p in / /app.js /app.css; do dash+=$($C "${AUTH[@]}" "$ADMIN/_$p"); done
seek dashboard "$dash" "<"
"$KL" secret rm api_key >/dev/null 2>&1
check_has secret_removed "err 2 " "$(fn svc "op=var&name=key")"
check_has secret_rm_again_fails "no such secret" "$("$KL" secret rm api_key 2>&1)"

# ---- Python and JavaScript: the same services through import kernless / fetch --------
if [ -f "$BUILD/engines/python.wasm" ] && [ -f "$BUILD/engines/js.wasm" ]; then
  deploy py tests/outbound/py/app.py --route /py --allow-outbound "http://127.0.0.1:$UP" --kv default --var greeting=hi
  deploy js tests/outbound/js/handler.js --route /js --allow-outbound "http://127.0.0.1:$UP" --kv default --var greeting=hi
  check py_http "ok 200 1 hello-upstream" "$(fn py "op=http&url=$H/hello")"
  check_has py_http_denied "HttpError 1 http: http://127.0.0.1:$OTHER is not in allowed_outbound_hosts" "$(fn py "op=http&url=http://127.0.0.1:$OTHER/")"
  check py_kv "ok 1 True ['count'] ok 2 True ['count']" "$(fn py op=count; echo -n ' '; fn py op=count)"
  check_has py_kv_denied "KvError 1 kv: store other is not declared" "$(fn py "op=count&store=other")"
  check py_var "ok hi" "$(fn py "op=var&name=greeting")"
  check_has py_var_missing "VariableError 2 " "$(fn py "op=var&name=nope")"
  check js_fetch "ok 200 1 hello-upstream" "$(fn js "op=http&url=$H/hello")"
  check_has js_fetch_rejected "Error 1 http: http://127.0.0.1:$OTHER is not in allowed_outbound_hosts" "$(fn js "op=http&url=http://127.0.0.1:$OTHER/")"
  check js_kv 'ok 3 true ["count"]' "$(fn js op=count)"
  check_has js_kv_denied "Error 1 kv: store other is not declared" "$(fn js "op=count&store=other")"
  check js_var "ok hi" "$(fn js "op=var&name=greeting")"
  check_has js_var_missing "Error 2 " "$(fn js "op=var&name=nope")"
else
  skip languages "no engines in $BUILD/engines (make engines)"
fi
kill $OPID 2>/dev/null; wait $OPID 2>/dev/null
kl_stop
check server_sanitizer_clean "" "$(grep -m1 "Sanitizer\|runtime error:" "$W/serve.err")"

# ---- PostgreSQL: two nodes share one store ------------------------------------
why=$(kl_pg_why_not)
if [ -n "$why" ] || ! kl_first_pass; then
  skip kv_two_nodes "${why:-the PostgreSQL part runs in the first backend pass only}"
else
  PGD=$(mktemp -d /tmp/kl-outbound-pg.XXXXXX); chmod 0755 "$PGD"
  PGPORT=$(kl_free_port)
  if kl_pg_init "$PGD" && kl_pg_start "$PGD" "$PGPORT"; then
    URL=$(kl_pg_url "$PGPORT")
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/shared.key"
    kl_serve "$W/n1.out" "$W/n1.err" --data "$W/n1" --registry "$URL" --secrets-key "$W/shared.key"
    P1=$PORT
    export KERNLESS_TOKEN; KERNLESS_TOKEN=$(cat "$W/n1/admin.token")
    "$KL" deploy svc "$W/fn_svc.wasm" --route /svc --kv default --var key=secret:api_key >"$W/deploy.log" 2>&1 ||
      fail deploy_pg "$(tail -c 300 "$W/deploy.log")"
    printf '%s' "$SECRET" | "$KL" secret set api_key >/dev/null 2>&1
    SPID1=$SPID; SPID=
    kl_serve "$W/n2.out" "$W/n2.err" --data "$W/n2" --registry "$URL" --secrets-key "$W/shared.key"
    N2PID=$SPID; P2=$PORT; SPID=$SPID1
    for _ in $(seq 1 50); do [ "$($C -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/svc?op=exists")" = 200 ] && break; sleep 0.2; done
    seq_out=""
    for i in 1 2 3 4; do
      p=$P1; [ $((i % 2)) = 0 ] && p=$P2
      seq_out+="$($C "http://127.0.0.1:$p/svc?op=count") "
    done
    check kv_two_nodes "ok 1 ok 2 ok 3 ok 4 " "$seq_out"
    check secret_two_nodes "ok $SECRET" "$($C "http://127.0.0.1:$P2/svc?op=var&name=key")"
    seek pg_database "$(psql -qtA "$URL" -c "SELECT name || ' ' || sealed FROM secrets" 2>&1)" "api_key"
    kill "$N2PID" 2>/dev/null; wait "$N2PID" 2>/dev/null; N2PID=
    kl_stop
  else
    fail postgres_start "$(tail -c 300 "$PGD/initdb.log" "$PGD/pgrun/pg.log" 2>/dev/null)"
  fi
fi
kl_end
