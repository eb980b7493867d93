# cluster-lib.sh - start and stop a throwaway PostgreSQL and HAProxy for a local Kernless cluster (tests/cluster, make cluster).
#
# Source it; it defines functions only. PostgreSQL refuses to run as root, so
# as root its folder belongs to, and it runs as, the `postgres` user Debian's
# package creates (else `nobody`). Everything listens on 127.0.0.1 only,
# with trust authentication for the loopback: for tests and demos, not for
# production (README: "Outgrowing one machine").

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# kl_pg_user: who runs postgres ("" = the current user).
kl_pg_user() {
  if [ "$(id -u)" -ne 0 ]; then echo ""; elif id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# kl_pg_as CMD...: run a PostgreSQL program as kl_pg_user.
kl_pg_as() {
  local u; u=$(kl_pg_user)
  if [ -n "$u" ]; then runuser -u "$u" -- "$@"; else "$@"; fi
}

# kl_pg_why_not: empty when PostgreSQL can run here, else the reason.
kl_pg_why_not() {
  [ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL 15 at $PG_BIN (scripts/deps.sh installs postgresql)"; return; }
  if [ "$(id -u)" -eq 0 ] && ! command -v runuser >/dev/null; then echo "running as root without runuser"; return; fi
}

# kl_pg_init DIR PORT: a fresh database folder DIR/pg for user kernless, no password.
kl_pg_init() {
  local dir=$1 u; u=$(kl_pg_user)
  mkdir -p "$dir/pg" "$dir/pgrun"
  [ -n "$u" ] && chown "$u" "$dir/pg" "$dir/pgrun"
  chmod 0700 "$dir/pg"
  kl_pg_as "$PG_BIN/initdb" -D "$dir/pg" -U kernless --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1
}

# kl_pg_start DIR PORT: start it (waits until it accepts connections).
kl_pg_start() {
  local dir=$1 port=$2
  kl_pg_as "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pgrun/pg.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/pgrun -c fsync=off -c max_connections=60" \
    start >/dev/null
}

# kl_pg_stop DIR [MODE]: stop it (fast by default; "immediate" is a crash).
kl_pg_stop() {
  kl_pg_as "$PG_BIN/pg_ctl" -D "$1/pg" -m "${2:-fast}" -w -t 30 stop >/dev/null 2>&1
}

# kl_pg_url PORT: the registry URL of that database.
kl_pg_url() { echo "postgresql://kernless@127.0.0.1:$1/postgres"; }

# kl_free_port: a TCP port nothing listens on now.
kl_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
