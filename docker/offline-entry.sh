#!/bin/sh
# The entry point of bellman-offline:latest (docker/offline-images.sh): `postgres` and `redis` run Debian's
# servers as docker-compose.offline.yml configures them; anything else runs as given (python3 -m gunicorn ...).
set -eu
case "${1:-}" in
postgres)
    data=/var/lib/postgresql/data
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    mkdir -p "$data" /run/postgresql
    chown postgres:postgres "$data" /run/postgresql
    chmod 0700 "$data"
    if [ ! -s "$data/PG_VERSION" ]; then
        printf '%s\n' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" > /tmp/pw
        chown postgres /tmp/pw
        runuser -u postgres -- "$bin/initdb" -D "$data" -U "${POSTGRES_USER:-bellman}" --pwfile=/tmp/pw \
            --auth-local=trust --auth-host=scram-sha-256 >/dev/null
        rm -f /tmp/pw
        echo "host all all 0.0.0.0/0 scram-sha-256" >> "$data/pg_hba.conf"
        runuser -u postgres -- "$bin/pg_ctl" -D "$data" -w -o "-c listen_addresses=''" start >/dev/null
        runuser -u postgres -- psql -U "${POSTGRES_USER:-bellman}" -d postgres -q \
            -c "CREATE DATABASE \"${POSTGRES_DB:-bellman}\""
        runuser -u postgres -- "$bin/pg_ctl" -D "$data" -w stop >/dev/null
    fi
    exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
    ;;
redis)
    shift
    mkdir -p /data
    exec redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"
    ;;
*)
    exec "$@"
    ;;
esac
