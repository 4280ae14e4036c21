#!/usr/bin/env bash
# Make a PostgreSQL server answer on 127.0.0.1:5432 as the tests and the loopback platform expect:
# user `postgres` trusted from loopback only, database `test`. Debian's package and cluster
# (`15 main`); installed with apt when missing. Idempotent: a server that already answers is
# left alone, so a warm call takes a fraction of a second.
#
#   scripts/postgres.sh          install if needed, configure, start, wait until ready
#   scripts/postgres.sh status   exit 0 when the server answers
set -euo pipefail

HOST=127.0.0.1
PORT=5432
VERSION="${LAKEHOUSE_PG_VERSION:-15}"
CLUSTER=main

say() { echo "postgres: $*" >&2; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else say "need root for: $*; run it as root, or start PostgreSQL on $HOST:$PORT yourself"; return 1
    fi
}

ready() { pg_isready -h "$HOST" -p "$PORT" -t 2 >/dev/null 2>&1; }

answers_as_tests_expect() {
    psql "host=$HOST port=$PORT user=postgres dbname=test connect_timeout=3" -Atc 'select 1' \
        >/dev/null 2>&1
}

if [[ "${1:-}" == "status" ]]; then
    answers_as_tests_expect && { echo "postgres: ready on $HOST:$PORT"; exit 0; }
    echo "postgres: not answering on $HOST:$PORT as user postgres, database test"; exit 1
fi

if answers_as_tests_expect; then exit 0; fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ ! -x "/usr/lib/postgresql/$VERSION/bin/postgres" ]]; then
    say "installing Debian's postgresql-$VERSION"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq "postgresql-$VERSION" postgresql-client-common >/dev/null
fi

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -qx "$VERSION $CLUSTER"; then
    as_root pg_createcluster "$VERSION" "$CLUSTER" >/dev/null
fi

# Loopback only, and trusted there: the tests and the loopback platform connect as `postgres`
# without a password. Nothing listens beyond 127.0.0.1.
CONF_DIR="/etc/postgresql/$VERSION/$CLUSTER"
HBA="$CONF_DIR/pg_hba.conf"
MARK="# lakehouse: loopback trust"
if ! as_root grep -qF "$MARK" "$HBA"; then
    as_root sh -c "{ echo '$MARK'; echo 'host all all 127.0.0.1/32 trust'; echo 'host all all ::1/128 trust'; cat '$HBA'; } > '$HBA.new' && mv '$HBA.new' '$HBA' && chown postgres:postgres '$HBA' && chmod 640 '$HBA'"
fi
as_root sh -c "mkdir -p '$CONF_DIR/conf.d' && printf \"listen_addresses = '$HOST'\nport = $PORT\nmax_connections = 200\n\" > '$CONF_DIR/conf.d/lakehouse.conf'"

if pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
    as_root pg_ctlcluster "$VERSION" "$CLUSTER" reload
else
    as_root pg_ctlcluster "$VERSION" "$CLUSTER" start
fi
for _ in $(seq 1 60); do ready && break; sleep 0.5; done
ready || { say "did not start; see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log"; exit 1; }

psql "host=$HOST port=$PORT user=postgres dbname=postgres" -Atc \
    "select 1 from pg_database where datname = 'test'" | grep -q 1 ||
    psql "host=$HOST port=$PORT user=postgres dbname=postgres" -qc 'create database test'
answers_as_tests_expect || { say "running, but user postgres cannot reach database test"; exit 1; }
say "ready on $HOST:$PORT"
