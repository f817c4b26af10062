# Sourced by scripts/test: a throwaway PostgreSQL from /usr/lib/postgresql/*/bin on a free port.
# PostgreSQL refuses to run as root, so as root it runs as the unprivileged user `handoffpg`.
pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_postgres() {
  local bin; bin="$(pg_bin)"
  if [ -z "$bin" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin="$(pg_bin)"
    fi
    [ -n "$bin" ] || { echo "PostgreSQL server binaries not found" >&2; return 1; }
  fi
  PG_DIR="$(mktemp -d /tmp/handoff-pg.XXXXXX)"
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local run=()
  if [ "$(id -u)" = 0 ]; then
    id handoffpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin handoffpg
    chown handoffpg "$PG_DIR"
    run=(runuser -u handoffpg --)
  fi
  PG_RUN=("${run[@]}")
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
  PG_BIN="$bin"
  export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
