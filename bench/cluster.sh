#!/usr/bin/env bash
# cluster.sh - benchmark 7: a cluster on one PostgreSQL registry behind HAProxy: throughput with 1-3 nodes, deploy-to-served latency, first request on a node that must fetch the image.
#
# Everything on 127.0.0.1 in this invocation: PostgreSQL 15 (scripts/cluster-lib.sh), three
# `kernless serve --registry` nodes, HAProxy with the config `kernless haproxy-config` makes.
# Throughput: CLUSTER_FNS functions (routes /f1../fN, so consistent hashing spreads them over
# the nodes), wrk -c32 through HAProxy with its backend cut to the first 1, 2, 3 nodes; the ratio
# is against 1 node behind the same HAProxy, runs interleaved. Latency: from a deploy's 201 until
# every node serves the new version. First request: a fresh node (empty data folder) fetches the
# images from the registry at start; its start-to-first-answer and first request are compared
# with the same node restarted with its cache warm.
set -u
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/cluster-lib.sh"
W=$OUT_DIR/cluster
rm -rf "$W"; mkdir -p "$W/wrk"
FNS=${CLUSTER_FNS:-12}; RUNS=${CLUSTER_RUNS:-3}; SECS=${CLUSTER_SECS:-10}; CONNS=32; LAT_N=${CLUSTER_LAT_N:-7}
[ "${QUICK:-0}" = 1 ] && { RUNS=1; SECS=2; LAT_N=2; }
export CLUSTER_FNS=$FNS
need_pkgs haproxy postgresql || { blog "cluster: cannot install haproxy/postgresql"; exit 1; }
PGD=$(mktemp -d /tmp/kl-bench-pg.XXXXXX); chmod 0755 "$PGD"
declare -a NPID NPORT NAPORT; HPID=
cleanup() {
  local p
  for p in "${NPID[@]}" $HPID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  kl_pg_stop "$PGD" fast; rm -rf "$PGD"
}
trap cleanup EXIT
PGPORT=$(kl_free_port)
kl_pg_init "$PGD" && kl_pg_start "$PGD" "$PGPORT" || { blog "cluster: PostgreSQL does not start"; exit 1; }
URL=$(kl_pg_url "$PGPORT")

# start_node I [SERVE-OPTION...]: start node I (on its old port when restarted); sets T_UP (s from
# start to /healthz).
start_node() {
  local i=$1 t0=$EPOCHREALTIME; shift
  NPORT[$i]=${NPORT[$i]:-$(kl_free_port)}
  NAPORT[$i]=${NAPORT[$i]:-$(kl_free_port)}
  "$KL" serve --isolation "$BENCH_ISOLATION" --listen "127.0.0.1:${NPORT[$i]}" \
    --admin-listen "127.0.0.1:${NAPORT[$i]}" --data "$W/n$i" \
    --registry "$URL" --node-name "n$i" "$@" >>"$W/n$i.log" 2>&1 &
  NPID[$i]=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:${NPORT[$i]}/healthz" >/dev/null 2>&1 && break; sleep 0.02; done
  T_UP=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}
for i in 1 2 3; do start_node $i; done
export KERNLESS_URL=http://127.0.0.1:${NAPORT[1]} KERNLESS_TOKEN; KERNLESS_TOKEN=$(cat "$W/n1/admin.token")
wasm_cc "$ROOT/examples/wagi-hello/hello.c" "$W/hello.wasm" && wasm_cc "$ROOT/tests/server/fn/v2.c" "$W/v2.wasm" || exit 1
for f in $(seq 1 "$FNS"); do "$KL" deploy "f$f" "$W/hello.wasm" --route "/f$f" >/dev/null 2>&1 || { blog "cluster: deploy f$f failed"; exit 1; }; done
sleep 1
"$KL" haproxy-config --listen "127.0.0.1:0" >"$W/haproxy-all.cfg" || exit 1

# ---- throughput with 1, 2, 3 nodes behind the same HAProxy ----------------------------------
declare -A SPREAD
for ((r = 1; r <= RUNS; r++)); do
  for k in 1 2 3; do
    HP=$(kl_free_port)
    awk -v k="$k" -v hp="$HP" '/^    server / { if (++n > k) next } /^    bind / { $0 = "    bind 127.0.0.1:" hp } { print }' \
      "$W/haproxy-all.cfg" >"$W/haproxy-$k.cfg"
    haproxy -db -f "$W/haproxy-$k.cfg" >"$W/haproxy-$k.log" 2>&1 &
    HPID=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HP/f1" >/dev/null 2>&1 && break; sleep 0.05; done
    blog "cluster: $k node(s), run $r of $RUNS ($SECS s)"
    timeout $(( SECS + 30 )) wrk -t2 -c$CONNS -d"${SECS}s" --timeout 5s -s "$ROOT/bench/cluster/paths.lua" \
      "http://127.0.0.1:$HP" >"$W/wrk/k$k.r$r" 2>&1
    awk '/^rps /{ print $2 }' "$W/wrk/k$k.r$r" >>"$W/rps.k$k"
    awk '/^errors /{ print $2 + $3 }' "$W/wrk/k$k.r$r" >>"$W/errors.k$k"
    # Which node served each function with k nodes (the consistent hash's spread).
    SPREAD[$k]=$(for f in $(seq 1 "$FNS"); do curl -s -D - -o /dev/null "http://127.0.0.1:$HP/f$f" | tr -d '\r' | sed -n 's/^x-kernless-node: //Ip'; done | sort | uniq -c | awk '{ printf "%s%s: %s", (NR > 1 ? ", " : ""), $2, $1 }')
    kill "$HPID"; wait "$HPID" 2>/dev/null; HPID=
  done
done

# ---- deploy -> served on every node ---------------------------------------------------------
"$KL" deploy lat "$W/hello.wasm" --route /lat >/dev/null 2>&1
for ((n = 1; n <= LAT_N; n++)); do
  if (( n % 2 )); then mod=$W/v2.wasm; want="version two"; else mod=$W/hello.wasm; want="Hello from Kernless!"; fi
  t0=$EPOCHREALTIME
  "$KL" deploy lat "$mod" --route /lat >/dev/null 2>&1 || { blog "cluster: deploy lat failed"; exit 1; }
  t1=$EPOCHREALTIME
  for i in 1 2 3; do
    until [ "$(curl -s "http://127.0.0.1:${NPORT[$i]}/lat")" = "$want" ]; do :; done
  done
  t2=$EPOCHREALTIME
  awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/lat.after201"
  awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/lat.total"
done

# ---- first request on a node that must fetch the images (FRESH_N times each way) ---------------
FRESH_N=${CLUSTER_FRESH_N:-3}; [ "${QUICK:-0}" = 1 ] && FRESH_N=1
for ((n = 1; n <= FRESH_N; n++)); do
  rm -rf "$W/n4"; : >"$W/n4.log"
  # --no-prefetch: the first request itself fetches the image (by default a node prefetches
  # every image in the background right after start).
  start_node 4 --no-prefetch; echo "$T_UP" >>"$W/up.fresh"
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:${NPORT[4]}/f1" >>"$W/first.fresh"
  for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:${NPORT[4]}/f1"; done >>"$W/steady"
  sed -n 's/.*fetched image .* in \([0-9]*\) ms$/\1/p' "$W/n4.log" >>"$W/fetch.ms"
  fetches=$(grep -c 'fetched image' "$W/n4.log")
  compiles=$(grep -c 'compiling' "$W/n4.log")
  img_kb=$(du -sk "$W/n4/images" | cut -f1)
  kill "${NPID[4]}"; wait "${NPID[4]}" 2>/dev/null
  start_node 4 --no-prefetch; echo "$T_UP" >>"$W/up.warm"
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:${NPORT[4]}/f1" >>"$W/first.warm"
  kill "${NPID[4]}"; wait "${NPID[4]}" 2>/dev/null
done
NPID[4]=

# ---- report ----------------------------------------------------------------------------------
m1=$(median "$W/rps.k1")
{
  printf '## cluster: nodes on one PostgreSQL registry behind HAProxy (%s backend)\n\n' "$BENCH_ISOLATION"
  section_provenance
  printf 'PostgreSQL 15, HAProxy %s and every node on this one machine (%s cores): more nodes add no CPU here, ' \
    "$(haproxy -v | head -1 | awk '{ print $3 }')" "$(nproc)"
  printf 'so the ratios show what the cluster path costs, not how it scales across machines. '
  printf '`wrk -t2 -c%s -d%ss` through HAProxy over %s functions (routes /f1../f%s, the same hello), ' "$CONNS" "$SECS" "$FNS" "$FNS"
  printf 'the backend cut to the first 1, 2, 3 nodes of the generated config; %s interleaved runs, medians.\n\n' "$RUNS"
  printf '| nodes behind HAProxy | requests/s (median) | vs 1 node | errors | functions per node |\n|---|---|---|---|---|\n'
  for k in 1 2 3; do
    printf '| %s | %.0f | %s | %s | %s |\n' "$k" "$(median "$W/rps.k$k")" "$(ratio "$(median "$W/rps.k$k")" "$m1")" \
      "$(awk '{ s += $1 } END { print s + 0 }' "$W/errors.k$k")" "${SPREAD[$k]}"
  done
  printf '\n**Deploy to served on every node** (%s deploys of a new version through node 1, each polled on all three nodes with curl until it answers with the new body):\n\n' "$LAT_N"
  printf '| | median | min | max |\n|---|---|---|---|\n'
  read -r _ md mn mx < <(stats "$W/lat.after201")
  printf '| from the 201 until all 3 nodes serve it | %s ms | %s ms | %s ms |\n' "$(fmt 1000 1 "$md")" "$(fmt 1000 1 "$mn")" "$(fmt 1000 1 "$mx")"
  read -r _ md mn mx < <(stats "$W/lat.total")
  printf '| whole deploy (upload, cached image, commit) until all 3 serve it | %s ms | %s ms | %s ms |\n\n' "$(fmt 1000 1 "$md")" "$(fmt 1000 1 "$mn")" "$(fmt 1000 1 "$mx")"
  printf '**First request on a node that must fetch the image** (a 4th node, `--no-prefetch`, started with an empty data folder while %s functions exist, so its first request to /f1 fetches the image; then the same node restarted with its cache):\n\n' "$((FNS + 1))"
  printf '| | fresh node (fetches) | restarted (cached) |\n|---|---|---|\n'
  printf '| start until /healthz answers (median of %s) | %s ms | %s ms |\n' "$FRESH_N" "$(fmt 1000 0 "$(median "$W/up.fresh")")" "$(fmt 1000 0 "$(median "$W/up.warm")")"
  printf '| first request to /f1, `curl time_total` (median of %s) | %s ms | %s ms |\n' "$FRESH_N" "$(fmt 1000 1 "$(median "$W/first.fresh")")" "$(fmt 1000 1 "$(median "$W/first.warm")")"
  printf '| later requests (median of %s) | %s ms | |\n\n' "$(wc -l <"$W/steady")" "$(fmt 1000 1 "$(median "$W/steady")")"
  printf 'Each start of the fresh node fetched %s image(s) (%s KiB in all, on first need) from the registry, checked with SHA-256, in a median %s ms per image; it logged %s compile(s).\n\n' \
    "$fetches" "$img_kb" "$(median "$W/fetch.ms")" "$compiles"
} >"$RESULTS_DIR/cluster-$BENCH_ISOLATION.md"
blog "cluster: wrote $RESULTS_DIR/cluster-$BENCH_ISOLATION.md"
