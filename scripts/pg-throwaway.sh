#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks, with no system cluster or systemd:
#   pg-throwaway.sh start DIR [durable]   initdb in DIR/data, start on a free loopback port with
#                                         its socket in DIR; prints the superuser's URL
#   pg-throwaway.sh stop DIR              stop it and remove DIR
# Without `durable` the cluster runs with fsync off: the test suite checks behaviour, not the
# disk. durability.test.ts and the benchmark ask for `durable` (the PostgreSQL defaults).
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
cmd=${1:?usage: pg-throwaway.sh start|stop DIR [durable]}
dir=${2:?usage: pg-throwaway.sh start|stop DIR [durable]}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "pg-throwaway: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  settings="-c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=32MB"
  [ "${3:-}" = durable ] || settings="$settings -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  # A free port can be taken between the probe and the start: try a few.
  for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-p $port -k $dir $settings" start >/dev/null; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres"
      exit 0
    fi
  done
  cat "$dir/server.log" >&2
  exit 1
  ;;
stop)
  [ ! -d "$dir/data" ] || as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg-throwaway.sh start|stop DIR [durable]" >&2
  exit 2
  ;;
esac
