# Shared by the scripts: paths, logging, and the process bookkeeping that lets
# `make demo` and `make test` stop exactly what they started.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
export BELLMAN_VAR_DIR=${BELLMAN_VAR_DIR:-$top/var}
run_dir=$BELLMAN_VAR_DIR/run
log_dir=$BELLMAN_VAR_DIR/log
mkdir -p "$run_dir" "$log_dir"
venv=$top/.venv
py=$venv/bin/python

say() { printf '\033[1m[bellman]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

debian_mirror() {
    # The machine's own apt source, so a debootstrap'ed root filesystem comes from wherever apt already
    # reaches (the proxy's and the offline deployment's images; DEBIAN_MIRROR overrides it).
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || die "no Debian mirror found in /etc/apt; set DEBIAN_MIRROR"
    echo "${DEBIAN_MIRROR:-$uri}"
}

load_env() {
    # A local .env (see .env.example) wins over the defaults below.
    if [ -f "$top/.env" ]; then set -a; . "$top/.env"; set +a; fi
    if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
        # Readable by its owner only (0600), from the moment it exists; an older, wider file is narrowed.
        [ -s "$BELLMAN_VAR_DIR/secret_key" ] || (umask 077; "$py" -c "import secrets; print(secrets.token_urlsafe(50))" > "$BELLMAN_VAR_DIR/secret_key")
        chmod 600 "$BELLMAN_VAR_DIR/secret_key"
        DJANGO_SECRET_KEY=$(cat "$BELLMAN_VAR_DIR/secret_key")
        export DJANGO_SECRET_KEY
    fi
    export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
}

redis_port() { local rest=${REDIS_URL#*://}; rest=${rest%%/*}; rest=${rest##*@}; echo "${rest##*:}"; }

start_redis() {
    local port; port=$(redis_port)
    if redis-cli -p "$port" ping >/dev/null 2>&1; then return; fi
    say "starting Redis on 127.0.0.1:$port"
    # Append-only persistence: a restart keeps the queue (the sweeper covers a Redis that loses it).
    mkdir -p "$BELLMAN_VAR_DIR/redis"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly yes --appendfsync everysec \
        --daemonize yes --dir "$BELLMAN_VAR_DIR/redis" --pidfile "$run_dir/redis.pid" --logfile "$log_dir/redis.log"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && { echo redis >> "$run_dir/started"; return; }; sleep 0.1; done
    die "Redis did not start (see $log_dir/redis.log)"
}

start_dockerd() {
    if docker info >/dev/null 2>&1; then return; fi
    say "starting Docker Engine"
    nohup dockerd > "$log_dir/dockerd.log" 2>&1 &
    echo $! > "$run_dir/dockerd.pid"
    for _ in $(seq 60); do
        if docker info >/dev/null 2>&1; then
            echo dockerd >> "$run_dir/started"
            # The engine was down, so no grading is under way: any sandbox it still lists was left by a
            # run that was cut off (a killed machine, a stopped daemon).
            docker ps -aq --filter label=bellman.sandbox | xargs -r docker rm -f >/dev/null 2>&1 || true
            return
        fi
        sleep 0.5
    done
    say "Docker Engine did not start (see $log_dir/dockerd.log): only the bwrap backend will be used"
}

start_postgres() {
    # A PostgreSQL server of this run's own, on a loopback port, with its data under var/: the tests'
    # database. Exports BELLMAN_TEST_POSTGRES_URL.
    local bin data pglog port
    bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    data=$BELLMAN_VAR_DIR/test/postgres
    pglog=$log_dir/postgres.log
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$BELLMAN_VAR_DIR"; then
        # A checkout the postgres user cannot enter (mktemp -d makes 0700 folders): the server's files go to a
        # folder of its own, one per checkout.
        data=/var/tmp/bellman-postgres-$(printf '%s' "$top" | sha256sum | cut -c1-12)
        pglog=$data.log
    fi
    port=${BELLMAN_TEST_PG_PORT:-$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    if [ ! -s "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        [ "$(id -u)" = 0 ] && chown postgres "$data"
        as_pg "$bin/initdb" -D "$data" -U bellman -A trust --no-sync >"$log_dir/postgres-init.log" 2>&1 \
            || die "initdb failed (see $log_dir/postgres-init.log)"
    fi
    [ "$(id -u)" = 0 ] && touch "$pglog" && chown postgres "$pglog"
    say "starting PostgreSQL on 127.0.0.1:$port"
    as_pg "$bin/pg_ctl" -D "$data" -l "$pglog" -w \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c full_page_writes=off" start >/dev/null \
        || die "PostgreSQL did not start (see $pglog)"
    echo postgres >> "$run_dir/started"
    echo "$bin/pg_ctl -D $data" > "$run_dir/postgres.ctl"
    export BELLMAN_TEST_POSTGRES_URL="postgres://bellman@127.0.0.1:$port/postgres"
}

stop_started() {
    # Stop the services this script started (and only those).
    [ -f "$run_dir/started" ] || return 0
    if grep -qx postgres "$run_dir/started" && [ -f "$run_dir/postgres.ctl" ]; then
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- $(cat "$run_dir/postgres.ctl") -m fast stop >/dev/null 2>&1 || true
        else $(cat "$run_dir/postgres.ctl") -m fast stop >/dev/null 2>&1 || true; fi
    fi
    if grep -qx redis "$run_dir/started"; then
        redis-cli -p "$(redis_port)" shutdown >/dev/null 2>&1 || true
    fi
    if grep -qx dockerd "$run_dir/started" && [ -f "$run_dir/dockerd.pid" ]; then
        docker ps -aq --filter label=bellman.sandbox | xargs -r docker rm -f >/dev/null 2>&1 || true
        kill "$(cat "$run_dir/dockerd.pid")" 2>/dev/null || true
    fi
    rm -f "$run_dir/started"
}
