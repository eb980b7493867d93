#!/usr/bin/env bash
# cluster.sh - `make cluster`: a local three-node Kernless cluster on one PostgreSQL registry behind HAProxy, in the foreground.
#
# Everything lives under BUILD/cluster-demo (PostgreSQL's folder under /tmp,
# since it runs as another user when we are root) and listens on 127.0.0.1:
# HAProxy on $KERNLESS_CLUSTER_PORT (default 8000) for functions and on
# $KERNLESS_CLUSTER_ADMIN_PORT (default 8001) for the management API, nodes
# and PostgreSQL on free ports. Ctrl-C stops it all.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
. scripts/cluster-lib.sh
KL=$BUILD/kernless
D=$BUILD/cluster-demo
HPORT=${KERNLESS_CLUSTER_PORT:-8000}
HAPORT=${KERNLESS_CLUSTER_ADMIN_PORT:-8001}
why=$(kl_pg_why_not)
[ -z "$why" ] || { echo "cluster: cannot start PostgreSQL: $why" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "cluster: no haproxy (make deps installs it)" >&2; exit 1; }
rm -rf "$D"; mkdir -p "$D"
PGD=$(mktemp -d /tmp/kl-cluster-demo-pg.XXXXXX); chmod 0755 "$PGD"
PIDS=()
stop() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  kl_pg_stop "$PGD" || true
  rm -rf "$PGD"
}
trap stop EXIT
trap 'exit 0' INT TERM

PGPORT=$(kl_free_port)
echo "cluster: PostgreSQL 15 on 127.0.0.1:$PGPORT (folder $PGD)"
kl_pg_init "$PGD" || { cat "$PGD/initdb.log" >&2; exit 1; }
kl_pg_start "$PGD" "$PGPORT" || { cat "$PGD/pgrun/pg.log" >&2; exit 1; }
URL=$(kl_pg_url "$PGPORT")
for i in 1 2 3; do
  port=$(kl_free_port); aport=$(kl_free_port)
  "$KL" serve --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$aport" --data "$D/n$i" \
    --registry "$URL" --node-name "node$i" >"$D/node$i.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$D/node$i.log" >&2; exit 1; }
  echo "cluster: node$i on http://127.0.0.1:$port, admin http://127.0.0.1:$aport (log $D/node$i.log)"
  NODE1=${NODE1:-http://127.0.0.1:$aport}
done
export KERNLESS_URL=$NODE1 KERNLESS_TOKEN; KERNLESS_TOKEN=$(cat "$D/n1/admin.token")
"$KL" haproxy-config --listen "127.0.0.1:$HPORT" --admin-listen "127.0.0.1:$HAPORT" >"$D/haproxy.cfg"
haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$HPORT/healthz" && break; sleep 0.1; done
clang --target=wasm32-wasi -O2 examples/wagi-hello/hello.c -o "$D/hello.wasm" -Wl,--strip-debug
"$KL" deploy hello "$D/hello.wasm" --route /hello
"$KL" nodes
cat <<EOT

cluster: three nodes on one registry, behind HAProxy at http://127.0.0.1:$HPORT
(functions) and http://127.0.0.1:$HAPORT (management API and dashboard)
  curl http://127.0.0.1:$HPORT/hello
  export KERNLESS_URL=http://127.0.0.1:$HAPORT KERNLESS_TOKEN=\$(cat $D/n1/admin.token)
  kernless nodes | ls | deploy ... | logs hello
  registry: $URL   HAProxy config: $D/haproxy.cfg
Ctrl-C stops the cluster.
EOT
wait
