#!/usr/bin/env bash
# outbound.sh - the cost of host services: an outbound HTTP call vs libcurl to the same local server, and KV get/set p50 on SQLite and PostgreSQL.
#
# The function (tests/outbound/fn_svc.c, op=bench) times each call inside the guest, so the
# figures are what a function waits for: the exit, the hand-off to a service thread, the work and
# the way back. The baseline makes the same GET with a fresh libcurl handle per request from a
# native process (bench/outbound/curl_p50.c), as the host does for each call.
set -u
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/cluster-lib.sh"

N=${OUTBOUND_N:-500}
[ "${QUICK:-0}" = 1 ] && N=50
W=$OUT_DIR/outbound
rm -rf "$W"; mkdir -p "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${PGD:-}" ] && { kl_pg_stop "$PGD" immediate; rm -rf "$PGD"; }
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if ! clang --target=wasm32-wasi -O2 -I"$ROOT/include" "$ROOT/tests/outbound/fn_svc.c" -o "$W/fn.wasm" 2>"$W/build.log" ||
   ! gcc -O2 "$ROOT/bench/outbound/curl_p50.c" -o "$W/curl_p50" -lcurl 2>>"$W/build.log"; then
  blog "outbound: does not build: $(head -c 300 "$W/build.log")"; exit 1
fi
UP=$(free_port)
python3 "$ROOT/tests/outbound/upstream.py" "$UP" 1 2>/dev/null & PIDS+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$UP/hello" && break; sleep 0.1; done

# serve_and_measure NAME [serve args...]: one server, the function deployed, every figure into $W/NAME.*
serve_and_measure() {
  local name=$1 out line port aport
  shift
  out=$W/$name.serve
  "$KL" serve --isolation "$BENCH_ISOLATION" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --data "$W/$name-data" "$@" >"$out" 2>"$out.err" & PIDS+=($!)
  for _ in $(seq 1 100); do line=$(grep -m1 ' serving ' "$out" 2>/dev/null) && break; sleep 0.1; done
  port=$(echo "$line" | sed -n 's/.* on http:\/\/[^ ]*:\([0-9]*\), admin .*/\1/p')
  aport=$(echo "$line" | sed -n 's/.* dashboard on http:\/\/[^ ]*:\([0-9]*\) .*/\1/p')
  [ -n "$port" ] || { blog "outbound: $name server did not start: $(tail -c 300 "$out.err")"; return 1; }
  KERNLESS_URL=http://127.0.0.1:$aport KERNLESS_TOKEN=$(cat "$W/$name-data/admin.token") \
    "$KL" deploy b "$W/fn.wasm" --route /b --allow-outbound "http://127.0.0.1:$UP" --kv default \
    --var greeting=hi >"$W/$name.deploy" 2>&1 || { blog "outbound: deploy failed"; return 1; }
  local u="http://127.0.0.1:$port/b?op=bench&n=$N"
  curl -s "$u&what=set" >/dev/null   # warm: VM pool, key present
  curl -s "$u&what=var" >"$W/$name.var"
  curl -s "$u&what=get" >"$W/$name.get"
  curl -s "$u&what=set" >"$W/$name.set"
  # At most 16 outbound calls per request (the default limit): pool the times of several.
  if [ "$name" = sqlite ]; then
    : >"$W/http.raw"
    for _ in $(seq 1 $(( (N + 15) / 16 ))); do
      curl -s "http://127.0.0.1:$port/b?op=bench&n=16&raw=1&what=http&url=http://127.0.0.1:$UP/hello" >>"$W/http.raw"
    done
    grep -q '^err' "$W/http.raw" && blog "outbound: $(grep -m1 '^err' "$W/http.raw")"
    printf 'ok %s %s\n' "$(pctl "$W/http.raw" 50)" "$(pctl "$W/http.raw" 99)" >"$W/$name.http"
  fi
  kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null
}
field() { sed -n "s/^ok \([0-9.]*\) \([0-9.]*\)$/\\$2/p" "$1" 2>/dev/null; }

serve_and_measure sqlite || exit 1
"$W/curl_p50" "http://127.0.0.1:$UP/hello" "$N" >"$W/curl" || { blog "outbound: curl baseline failed"; exit 1; }
why=$(kl_pg_why_not)
if [ -z "$why" ]; then
  PGD=$(mktemp -d /tmp/kl-bench-pg.XXXXXX); chmod 0755 "$PGD"
  PGPORT=$(free_port)
  if kl_pg_init "$PGD" && kl_pg_start "$PGD" "$PGPORT"; then
    serve_and_measure pg --registry "$(kl_pg_url "$PGPORT")" || why="the PostgreSQL node did not serve"
  else
    why="PostgreSQL did not start"
  fi
fi

{
  printf '## outbound: host services, outbound HTTP and key-value (%s backend)\n\n' "$BENCH_ISOLATION"
  section_provenance
  printf '%s calls of each kind in one request, each timed inside the guest (clock_gettime around the call); ' "$N"
  printf 'microseconds. The baseline is a native process making the same GET to the same local server (Python `http.server` on loopback) '
  printf 'with a fresh libcurl handle per request, as the host does. `variable get` is a call that never leaves the host: '
  printf 'the cost of the exit and the checks alone.\n\n'
  printf '| call | p50 us | p99 us |\n|---|---|---|\n'
  printf '| libcurl GET from a native process (baseline) | %s | %s |\n' "$(awk '{print $1}' "$W/curl")" "$(awk '{print $2}' "$W/curl")"
  printf '| outbound GET from a function | %s | %s |\n' "$(field "$W/sqlite.http" 1)" "$(field "$W/sqlite.http" 2)"
  printf '| variable get | %s | %s |\n' "$(field "$W/sqlite.var" 1)" "$(field "$W/sqlite.var" 2)"
  printf '| KV get, SQLite | %s | %s |\n' "$(field "$W/sqlite.get" 1)" "$(field "$W/sqlite.get" 2)"
  printf '| KV set, SQLite | %s | %s |\n' "$(field "$W/sqlite.set" 1)" "$(field "$W/sqlite.set" 2)"
  if [ -z "$why" ]; then
    printf '| KV get, PostgreSQL (loopback) | %s | %s |\n' "$(field "$W/pg.get" 1)" "$(field "$W/pg.get" 2)"
    printf '| KV set, PostgreSQL (loopback) | %s | %s |\n' "$(field "$W/pg.set" 1)" "$(field "$W/pg.set" 2)"
  else
    printf '| KV get/set, PostgreSQL | not run: %s | |\n' "$why"
  fi
  printf '\nOutbound GET / baseline p50: %s.\n\n' "$(ratio "$(field "$W/sqlite.http" 1)" "$(awk '{print $1}' "$W/curl")")"
} >"$RESULTS_DIR/outbound-$BENCH_ISOLATION.md"
cat "$RESULTS_DIR/outbound-$BENCH_ISOLATION.md"
