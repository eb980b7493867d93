#!/usr/bin/env bash
# run.sh - cluster suite: a real PostgreSQL, three `kernless serve --registry` nodes and HAProxy, all on loopback ports.
#
# Usage: tests/cluster/run.sh BUILD. Checks that a deploy, rollback and
# removal through one node are served by the others; that a node serves an
# image it never compiled (it has no compiler on its PATH); 2,000 requests
# through HAProxy with the node serving them SIGKILLed midway (failures may
# only be requests in flight); a PostgreSQL restart under load; a restarted
# node catching up; one admin token on every node; bad registries refused;
# a module optimised once for the cluster: n1 publishes its optimised image,
# n2 (serving) and n5 (started later) serve it without compiling it, and n6
# with KERNLESS_SHARE_OPTIMISED=0 (the control) compiles its own.
# Skips (kl_skip_suite) only where PostgreSQL or HAProxy cannot run.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
. scripts/cluster-lib.sh
W=$BUILD/cluster-test
rm -rf "$W"; mkdir -p "$W/fn"
PGD=; HPID=; declare -a NPID NPORT NAPORT
finish() {
  local i
  kl_stop
  for i in 1 2 3 4 5 6; do
    [ -n "${NPID[$i]:-}" ] && kill "${NPID[$i]}" 2>/dev/null && wait "${NPID[$i]}" 2>/dev/null
  done
  [ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
  [ -n "$PGD" ] && { kl_pg_stop "$PGD" immediate; rm -rf "$PGD"; }
  # Nodes run under ASan/UBSan (lib.sh): any report in their logs is a failure.
  if [ -n "$PGD" ]; then
    san=$(grep -l "Sanitizer\|runtime error:" "$W"/n*.err 2>/dev/null | tr '\n' ' ')
    if [ -z "$san" ]; then pass nodes_sanitizer_clean; else fail nodes_sanitizer_clean "reports in $san"; fi
  fi
  kl_finish cluster
  exit $?
}
trap finish EXIT

why=$(kl_pg_why_not)
[ -n "$why" ] && kl_skip_suite cluster "$why"
command -v haproxy >/dev/null || kl_skip_suite cluster "no haproxy (scripts/deps.sh installs it)"
[ -x "$KL" ] || { fail binary "no kernless binary at $KL"; exit 1; }

# ---- PostgreSQL: its own folder outside the build tree (it runs as another user) ----
PGD=$(mktemp -d /tmp/kl-cluster-pg.XXXXXX); chmod 0755 "$PGD"
PGPORT=$(kl_free_port)
if ! kl_pg_init "$PGD" || ! kl_pg_start "$PGD" "$PGPORT"; then
  fail postgres_start "$(tail -c 400 "$PGD/initdb.log" "$PGD/pgrun/pg.log" 2>/dev/null)"; exit 1
fi
URL=$(kl_pg_url "$PGPORT")
pass postgres_start

cc_wasm() { clang --target=wasm32-wasi -O2 "$1" -o "$2" -Wl,--strip-debug 2>>"$W/build.log"; }
cc_wasm examples/wagi-hello/hello.c "$W/fn/hello.wasm" && cc_wasm tests/server/fn/v2.c "$W/fn/v2.wasm" &&
  cc_wasm examples/wagi-echo/echo.c "$W/fn/echo.wasm" || { fail build_functions "$(head -c 300 "$W/build.log")"; exit 1; }

# ---- a single node (SQLite) lists just itself, in the same shape --------------------
kl_serve "$W/single.out" "$W/single.err" --data "$W/single"
if [ -n "$PORT" ]; then
  o=$(curl -s -H "Authorization: Bearer $(cat "$W/single/admin.token")" "$ADMIN/v1/nodes")
  check single_nodes_shape "1 127.0.0.1:$PORT 127.0.0.1:$APORT true number" "$(echo "$o" | jq -r '"\(.nodes | length) \(.nodes[0].address) \(.nodes[0].admin_address) \(.nodes[0].healthy) \(.nodes[0].last_seen_ms | type)"')"
  check single_no_node_header "" "$(curl -s -D - -o /dev/null "$U/healthz" | tr -d '\r' | sed -n 's/^x-kernless-node: //Ip')"
else
  fail single_node_start "$(tail -c 300 "$W/single.err")"
fi
kl_stop
unset KERNLESS_URL

# ---- bad registries: one clear line, non-zero exit ----------------------------
out=$("$KL" serve --isolation process --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$W/bad" --registry "postgresql://kernless@127.0.0.1:1/postgres" 2>&1 >/dev/null); rc=$?
check bad_url_exit 1 "$rc"
check bad_url_one_line 1 "$(printf '%s\n' "$out" | grep -c .)"
check_has bad_url_reason "cannot open the registry (PostgreSQL)" "$out"
psql -q "$URL" -c "CREATE DATABASE future" >/dev/null 2>&1
psql -q "${URL%/postgres}/future" -c "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT INTO meta VALUES('schema_version', '999')" >/dev/null 2>&1
out=$("$KL" serve --isolation process --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$W/bad" --registry "${URL%/postgres}/future" 2>&1 >/dev/null); rc=$?
check future_schema_exit 1 "$rc"
check future_schema_one_line 1 "$(printf '%s\n' "$out" | grep -c .)"
check_has future_schema_reason "schema version 999 is newer" "$out"
check future_schema_untouched 0 "$(psql -qtA "${URL%/postgres}/future" -c "SELECT count(*) FROM information_schema.tables WHERE table_name = 'functions'" 2>&1)"

# ---- three nodes; node 3 has no compiler on its PATH ----------------------------
# start_node I [ENV=VAL | --serve-option]...: start node I (again) on a port of its own.
start_node() {
  local i=$1 a envs=() args=(); shift
  for a in "$@"; do case $a in --*) args+=("$a") ;; *) envs+=("$a") ;; esac; done
  : >"$W/n$i.out"
  env "${envs[@]}" "$KL" serve --listen "127.0.0.1:${NPORT[$i]:-0}" \
    --admin-listen "127.0.0.1:${NAPORT[$i]:-0}" --data "$W/n$i" --registry "$URL" \
    --node-name "n$i" "${args[@]}" >"$W/n$i.out" 2>>"$W/n$i.err" &
  NPID[$i]=$!
  for _ in $(seq 1 150); do
    kl_listen_ports "$(grep -m1 ' serving ' "$W/n$i.out" 2>/dev/null)"
    [ -n "$PORT" ] && { NPORT[$i]=$PORT; NAPORT[$i]=$APORT; return 0; }
    kill -0 "${NPID[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  fail "start_n$i" "$(tail -c 300 "$W/n$i.err")"; return 1
}
start_node 1 && start_node 2 && start_node 3 PATH=/nonexistent || exit 1
pass nodes_start
on() { local i=$1; shift; KERNLESS_URL=http://127.0.0.1:${NAPORT[$i]} "$KL" "$@"; }
get() { curl -s -m 10 "http://127.0.0.1:${NPORT[$1]}$2"; }
# wait_for NAME CMD...: poll until CMD succeeds (10 s); no timing is asserted.
wait_for() {
  local name=$1; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && { pass "$name"; return 0; }; sleep 0.1; done
  fail "$name" "not true after 10 s: $*"; return 1
}
serves() { [ "$(get "$1" "$2")" = "$3" ]; }
up() { curl -sf -m 5 -o /dev/null "http://127.0.0.1:${NPORT[$1]}$2"; }
gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${NPORT[$1]}$2")" = 404 ]; }

# ---- a second live node under a taken name is refused with one line ----
out=$("$KL" serve --isolation process --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$W/dup" --registry "$URL" --node-name n2 2>&1 >/dev/null); rc=$?
check dup_name_exit 1 "$rc"
check_has dup_name_reason "node name n2 is taken by a live node at 127.0.0.1:${NPORT[2]}" "$out"

# ---- one admin token, on every node ------------------------------------------
export KERNLESS_TOKEN; KERNLESS_TOKEN=$(cat "$W/n1/admin.token")
same=1; for i in 2 3; do cmp -s "$W/n1/admin.token" "$W/n$i/admin.token" || same=0; done
check token_same_file 1 "$same"
for i in 1 2 3; do
  check "token_works_n$i" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[$i]}/v1/functions")"
done
check token_wrong_401 401 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer nope" "http://127.0.0.1:${NAPORT[2]}/v1/functions")"

# ---- deploy through n1: served by n2 and by n3, which never compiled it -------------
out=$(on 1 deploy hello "$W/fn/hello.wasm" --route /hello 2>&1)
check_has deploy_n1 "deployed hello version 1" "$out"
check_has served_n1 "Hello from Kernless" "$(get 1 /hello)"
wait_for seen_on_n2 serves 2 /hello "Hello from Kernless!"
wait_for seen_on_n3_no_compiler serves 3 /hello "Hello from Kernless!"
check_has n3_fetched_image "fetched image" "$(cat "$W/n3.err")"
case "$(cat "$W/n3.err")" in *"compiling the stored module"*) fail n3_no_compile "n3 compiled" ;; *) pass n3_no_compile ;; esac
img=$(ls "$W/n1/images" | grep '\.kimg$' | head -1)
check n3_same_image_bytes 1 "$(cmp -s "$W/n1/images/$img" "$W/n3/images/$img" && echo 1)"

# ---- two deploys of one function through two nodes at once: both land ---------------
on 1 deploy hello "$W/fn/v2.wasm" --route /hello --json >"$W/d1.json" 2>/dev/null &
d1=$!
on 2 deploy hello "$W/fn/hello.wasm" --route /hello --json >"$W/d2.json" 2>/dev/null
wait $d1
v1=$(jq -r 'select(.event == null or .event == "done") | .version' "$W/d1.json" 2>/dev/null | tail -1)
v2=$(jq -r 'select(.event == null or .event == "done") | .version' "$W/d2.json" 2>/dev/null | tail -1)
check concurrent_deploys_distinct "2 3" "$(printf '%s\n%s\n' "$v1" "$v2" | sort -n | tr '\n' ' ' | sed 's/ $//')"
check concurrent_deploys_history 3 "$(on 3 info hello --json | jq '.history | length')"

# ---- rollback through n2, seen on n1 and n3; remove through n3, gone on n1 and n2 ----
on 2 rollback hello "$v1" >/dev/null 2>&1
wait_for rollback_seen_n1 serves 1 /hello "version two"
wait_for rollback_seen_n3 serves 3 /hello "version two"
kimgs() { ls "$W/n$1/images" | grep -c '\.kimg$'; }
serves 2 /hello "version two" || fail rollback_seen_n2 "n2 does not serve version two"
before=$(kimgs 2)
on 3 rm hello >/dev/null 2>&1
wait_for rm_seen_n1 gone 1 /hello
wait_for rm_seen_n2 gone 2 /hello
kimgs_are() { [ "$(kimgs "$1")" = "$2" ]; }
wait_for rm_cached_image_dropped_n2 kimgs_are 2 "$((before - 1))"
check rm_dropped_blobs 0 "$(psql -qtA "$URL" -c "SELECT count(*) FROM blobs" 2>&1)"
check rm_registry_n1 404 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[1]}/v1/functions/hello")"

# ---- nodes, metrics, logs from every node --------------------------------------
nodes=$(curl -s -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[2]}/v1/nodes")
check nodes_api_shape "n1 n2 n3" "$(echo "$nodes" | jq -r '[.nodes[] | select(.healthy == true and (.last_seen_ms | type) == "number" and .isolation != null and .version != null) | .name] | join(" ")')"
check_has nodes_cli "n3 " "$(on 1 nodes)"
check nodes_admin_addresses "127.0.0.1:${NAPORT[1]} 127.0.0.1:${NAPORT[2]} 127.0.0.1:${NAPORT[3]}" \
  "$(echo "$nodes" | jq -r '[.nodes[] | select(.name | test("^n[123]$")) | .admin_address] | join(" ")')"
check_has metrics_node "kernless_node_info{node=\"n2\"} 1" "$(curl -s -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[2]}/metrics")"
on 1 deploy echo "$W/fn/echo.wasm" --route /echo >/dev/null 2>&1
wait_for echo_on_n3 up 3 /echo
for i in 1 2 3; do curl -s -m 10 -d "from-n$i" "http://127.0.0.1:${NPORT[$i]}/echo" >/dev/null; done
logs=$(on 2 logs echo 2>&1)
for i in 1 2 3; do check_has "logs_tagged_n$i" " n$i [" "$logs"; done
KERNLESS_URL=http://127.0.0.1:${NAPORT[1]} "$KL" logs echo -f >"$W/follow.log" 2>&1 &
fp=$!
sleep 1   # let it print the history and start following
curl -s -m 10 -d "followed" "http://127.0.0.1:${NPORT[3]}/echo" >/dev/null
followed() { grep -q " n3 \[.*echoed POST" "$W/follow.log" && [ "$(grep -c 'echoed POST' "$W/follow.log")" -ge 4 ]; }
wait_for logs_follow_new_line followed
kill "$fp" 2>/dev/null; wait "$fp" 2>/dev/null

# ---- HAProxy with the generated config: 2,000 requests, the busy node killed midway ----
on 2 deploy hello "$W/fn/hello.wasm" --route /hello >/dev/null 2>&1
for i in 1 3; do wait_for "hello_again_n$i" serves "$i" /hello "Hello from Kernless!"; done
HPORT=$(kl_free_port); HAPORT=$(kl_free_port)
on 1 haproxy-config --listen "127.0.0.1:$HPORT" --admin-listen "127.0.0.1:$HAPORT" >"$W/haproxy.cfg" 2>"$W/haproxy-config.err"
check_has haproxy_config_servers "server n3 127.0.0.1:${NPORT[3]}" "$(cat "$W/haproxy.cfg")"
check_has haproxy_config_admin_servers "server n3 127.0.0.1:${NAPORT[3]}" "$(sed -n '/^backend kernless_admin_nodes/,$p' "$W/haproxy.cfg")"
if haproxy -c -q -f "$W/haproxy.cfg" >"$W/haproxy-check.log" 2>&1; then pass haproxy_config_valid
else fail haproxy_config_valid "$(head -c 300 "$W/haproxy-check.log")"; fi
haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 &
HPID=$!
H=http://127.0.0.1:$HPORT
wait_for haproxy_up curl -sf -m 2 "$H/hello"
# The admin API through its own frontend only: the function one has none.
wait_for haproxy_admin_up curl -sf -m 2 -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:$HAPORT/v1/functions"
check haproxy_function_frontend_no_admin 404 "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KERNLESS_TOKEN" "$H/v1/functions")"
victim=$(curl -s -m 5 -D - -o /dev/null "$H/hello" | tr -d '\r' | sed -n 's/^x-kernless-node: n//Ip')
case "$victim" in 1|2|3) pass haproxy_names_node ;; *) fail haproxy_names_node "no X-Kernless-Node from n1-n3: '$victim'"; exit 1 ;; esac
same=1; for _ in 1 2 3 4 5; do
  n=$(curl -s -m 5 -D - -o /dev/null "$H/hello" | tr -d '\r' | sed -n 's/^x-kernless-node: n//Ip')
  [ "$n" = "$victim" ] || same=0
done
check haproxy_one_function_one_node 1 "$same"
for _ in $(seq 1 2000); do printf 'url = "%s/hello"\noutput = "/dev/null"\n' "$H"; done >"$W/load.cfg"
PAR=8
curl -s -Z --parallel-max $PAR -m 30 -K "$W/load.cfg" -w '%{http_code}\n' >"$W/codes" 2>/dev/null &
lp=$!
for _ in $(seq 1 600); do [ "$(wc -l <"$W/codes")" -ge 700 ] && break; sleep 0.05; done
kill -KILL "${NPID[$victim]}"; wait "${NPID[$victim]}" 2>/dev/null; NPID[$victim]=
atkill=$(wc -l <"$W/codes")
wait $lp
if [ "$atkill" -lt 2000 ]; then pass "load_node_killed_midway (after $atkill)"; else fail load_node_killed_midway "the load was over before the kill"; fi
total=$(wc -l <"$W/codes"); bad=$(grep -vc '^200$' "$W/codes")
check load_all_answered 2000 "$total"
if [ "$bad" -le $PAR ]; then pass "load_failures_at_most_in_flight ($bad of 2000)"
else fail load_failures_at_most_in_flight "$bad of 2000 failed (in flight: $PAR): $(sort "$W/codes" | uniq -c | tr '\n' ' ')"; fi
wait_for killed_node_down sh -c "KERNLESS_URL=http://127.0.0.1:${NAPORT[$(( victim % 3 + 1 ))]} '$KL' nodes | grep -q '^n$victim .* down'"

# ---- the killed node restarts and catches up on what changed meanwhile --------------
other=$(( victim % 3 + 1 ))
on "$other" deploy late "$W/fn/v2.wasm" --route /late >/dev/null 2>&1
check ghost_node_inserted "INSERT 0 1" "$(psql "$URL" -c "INSERT INTO nodes VALUES('ghost', '127.0.0.1:9', 'process', '1', now() - interval '3 days', now() - interval '2 days')" 2>&1)"
start_node "$victim" || exit 1
check restarted_serves_late "version two" "$(get "$victim" /late)"
wait_for restarted_node_healthy sh -c "curl -s -H 'Authorization: Bearer $KERNLESS_TOKEN' http://127.0.0.1:${NAPORT[$other]}/v1/nodes | jq -e '.nodes[] | select(.name == \"n$victim\") | .healthy' | grep -q true"

no_ghost() { ! curl -s -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[$other]}/v1/nodes" | grep -q ghost; }
wait_for node_gone_a_day_forgotten no_ghost

# ---- PostgreSQL restarts under load: nodes keep serving, deploys say 503, then catch up ----
for _ in $(seq 1 600); do printf 'url = "%s/late"\noutput = "/dev/null"\n' "$H"; done >"$W/load2.cfg"
curl -s -Z --parallel-max 4 -m 30 -K "$W/load2.cfg" -w '%{http_code}\n' >"$W/codes2" 2>/dev/null &
lp=$!
kl_pg_stop "$PGD" fast
code=$(curl -s -o "$W/down.json" -w '%{http_code}' -H "Authorization: Bearer $KERNLESS_TOKEN" \
  -F 'config={"route":"/down"};type=application/json' -F "module=@$W/fn/hello.wasm" \
  "http://127.0.0.1:${NAPORT[1]}/v1/functions/down/deploy")
check deploy_registry_down_503 503 "$code"
check_has deploy_registry_down_reason "registry unavailable" "$(cat "$W/down.json")"
check serves_while_registry_down "version two" "$(get 2 /late)"
check rollback_registry_down_503 503 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[2]}/v1/functions/late/rollback")"
check list_registry_down_503 503 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[3]}/v1/functions")"
kl_pg_start "$PGD" "$PGPORT" || fail postgres_restart "$(tail -c 300 "$PGD/pgrun/pg.log")"
wait $lp
check load_through_pg_restart "600 0" "$(wc -l <"$W/codes2") $(grep -vc '^200$' "$W/codes2")"
check down_deploy_left_nothing 404 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[3]}/v1/functions/down")"
deployed() { on 1 deploy after "$W/fn/hello.wasm" --route /after >/dev/null 2>&1; }
wait_for deploy_after_pg_restart deployed
for i in 2 3; do wait_for "after_pg_restart_seen_n$i" serves "$i" /after "Hello from Kernless!"; done

# ---- --no-prefetch: a node fetches an image when a request first needs it ----
start_node 4 --no-prefetch
if [ -n "${NPORT[4]:-}" ]; then
  sleep 1   # time in which a prefetching node would have fetched everything
  check no_prefetch_cache_empty 0 "$(ls "$W/n4/images" | grep -c '\.kimg$')"
  check no_prefetch_first_request "Hello from Kernless!" "$(get 4 /after)"
  check no_prefetch_fetched_one 1 "$(ls "$W/n4/images" | grep -c '\.kimg$')"
  kill "${NPID[4]}"; wait "${NPID[4]}" 2>/dev/null; NPID[4]=
fi

# ---- a deploy compiles once for the cluster: a node whose cache lacks the image fetches it ----
rm -f "$W/n2/images/"*.kimg
out=$(on 2 deploy twice "$W/fn/hello.wasm" --route /twice --json 2>/dev/null)
check deploy_fetched_not_compiled true "$(echo "$out" | jq -r 'select(.event == null or .event == "done") | .cached' | tail -1)"
check_has deploy_fetch_logged "instead of compiling it" "$(cat "$W/n2.err")"

# ---- tiers: one node optimises a module and publishes the image; the others take it ----
# A module no earlier step deployed (hello at -O0): nothing of it is cached anywhere.
clang --target=wasm32-wasi -O0 examples/wagi-hello/hello.c -o "$W/fn/opt.wasm" -Wl,--strip-debug 2>>"$W/build.log"
tinfo() { on "$1" info opt --json 2>/dev/null; }
tier_is() { [ "$(tinfo "$1" | jq -r '"\(.tier) \(.tier_source)"')" = "$2" ]; }
metric_of() { curl -s -H "Authorization: Bearer $KERNLESS_TOKEN" "http://127.0.0.1:${NAPORT[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
# compiled_here I SHA: node I's log says its optimiser compiled module SHA itself.
compiled_here() { grep -q "optimiser: compiling module ${2:0:12}" "$W/n$1.err"; }
# n2 serves the module (on its baseline, if a request comes before n1's
# image is published); n3 has no compiler, so names no optimised image.
serving=2
# wait_long NAME CMD...: wait_for, for steps that include an -O2 build, which
# takes seconds on an idle machine but minutes on a loaded one (240 s).
wait_long() {
  local name=$1; shift
  for _ in $(seq 1 1200); do "$@" >/dev/null 2>&1 && { pass "$name"; return 0; }; sleep 0.2; done
  fail "$name" "not true after 240 s: $*"; return 1
}
out=$(on 1 deploy opt "$W/fn/opt.wasm" --route /opt --json 2>/dev/null)
osha=$(echo "$out" | jq -r 'select(.event == null or .event == "done") | .sha256' | tail -1)
# n2 serves it as soon as it sees it, and requests go on back to back until
# it serves n1's optimised image: none of them may fail.
wait_for tier_n2_serves serves 2 /opt "$(get 1 /opt)"
: >"$W/opt.codes"; rm -f "$W/opt.stop"
( while [ ! -e "$W/opt.stop" ]; do curl -s -m 10 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:${NPORT[2]}/opt" >>"$W/opt.codes"; done ) &
hp=$!
wait_long tier_n1_optimised_here tier_is 1 "optimised local"
wait_long "tier_n${serving}_took_published" tier_is "$serving" "optimised registry"
touch "$W/opt.stop"; wait $hp
check "tier_n${serving}_no_failed_request_through_swap" "0" "$(grep -vc '^200$' "$W/opt.codes")"
check tier_published_blob 1 "$(psql -qtA "$URL" -c "SELECT count(*) FROM blobs WHERE key LIKE 'optimised/$osha/%'" 2>&1)"
check tier_claim_dropped 0 "$(psql -qtA "$URL" -c "SELECT count(*) FROM meta WHERE key LIKE 'optimising/$osha/%'" 2>&1)"
if compiled_here "$serving" "$osha"; then fail "tier_n${serving}_no_own_optimiser_job" "n$serving compiled the module itself"
else pass "tier_n${serving}_no_own_optimiser_job"; fi
check "tier_n${serving}_fetch_counted" 1 "$(metric_of "$serving" kernless_tier_fetched_total | awk '{print ($1 >= 1)}')"
check "tier_n${serving}_same_output" "$(get 1 /opt)" "$(get "$serving" /opt)"
check_has "tier_n${serving}_info_says_built_elsewhere" "built by another node" "$(on "$serving" info opt 2>&1 | grep '^tier:')"
# A node started after the publication starts on the optimised tier, never compiling it.
start_node 5
if [ -n "${NPORT[5]:-}" ]; then
  check tier_late_node_output "$(get 1 /opt)" "$(get 5 /opt)"
  check tier_late_node_optimised "optimised registry" "$(tinfo 5 | jq -r '"\(.tier) \(.tier_source)"')"
  if compiled_here 5 "$osha"; then fail tier_late_node_no_compile "n5 compiled the module itself"
  else pass tier_late_node_no_compile; fi
  check tier_late_node_no_optimise_seconds 0.000 "$(metric_of 5 'kernless_compile_seconds_total{tier="optimised"}')"
  kill "${NPID[5]}"; wait "${NPID[5]}" 2>/dev/null; NPID[5]=
fi
# Control: a node that does not share optimised images builds its own, which
# the checks above tell apart (tier_source local, its own compile logged).
start_node 6 KERNLESS_SHARE_OPTIMISED=0
if [ -n "${NPORT[6]:-}" ]; then
  check tier_control_output "$(get 1 /opt)" "$(get 6 /opt)"
  wait_long tier_control_optimised_itself tier_is 6 "optimised local"
  if compiled_here 6 "$osha"; then pass tier_control_compiled_itself
  else fail tier_control_compiled_itself "n6 logged no compile of its own"; fi
  kill "${NPID[6]}"; wait "${NPID[6]}" 2>/dev/null; NPID[6]=
fi
# The published image and any claim go with the module.
on 1 rm opt >/dev/null 2>&1
check tier_rm_dropped_published 0 "$(psql -qtA "$URL" -c "SELECT count(*) FROM blobs WHERE key LIKE 'optimised/$osha/%'" 2>&1)"
check tier_rm_dropped_claims 0 "$(psql -qtA "$URL" -c "SELECT count(*) FROM meta WHERE key LIKE 'optimising/$osha/%'" 2>&1)"

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
