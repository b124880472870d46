#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the service tests (Debian's postgresql,
# installed when missing) and print the URL the tests read from SOCIALCREDIT_TEST_POSTGRES.
set -euo pipefail
PORT=${PGPORT_TEST:-54329}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA=$(mktemp -d /tmp/socialcredit-pg.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$DATA"; RUN_AS=(su postgres -s /bin/sh -c); fi
run() { if [ ${#RUN_AS[@]} -gt 0 ]; then "${RUN_AS[@]}" "$*"; else sh -c "$*"; fi; }
run "$PGBIN/initdb -D $DATA -A trust -U postgres" >/dev/null
run "$PGBIN/pg_ctl -D $DATA -o '-h 127.0.0.1 -p $PORT -k $DATA -c max_connections=1000' -l $DATA/log -w start" >/dev/null
"$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE socialcredit_test" >/dev/null
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/socialcredit_test"
