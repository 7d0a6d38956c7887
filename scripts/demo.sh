#!/usr/bin/env bash
# make demo: set up, start Redis, Docker Engine, a Celery worker and the web server, load a
# demo course, grade one demo submission and print where to see it. Ctrl-C stops it all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh
load_env
# As production runs: DEBUG off (set DJANGO_DEBUG=true to debug), gunicorn, WhiteNoise's static files.
export DJANGO_DEBUG=${DJANGO_DEBUG:-false}
host=${BELLMAN_DEMO_ADDR:-127.0.0.1:8000}
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost,${host%:*}}

pids=()
cleanup() {
    trap - INT TERM EXIT
    say "stopping"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_started
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

start_redis
start_dockerd
# E-mail: unless .env names a real server, a local SMTP sink keeps every message as a file.
mail_dir="$BELLMAN_VAR_DIR/mail"
if [ -z "${EMAIL_HOST:-}" ]; then
    export EMAIL_HOST=127.0.0.1 EMAIL_PORT=${BELLMAN_DEMO_SMTP_PORT:-2525}
    "$py" manage.py mailsink --port "$EMAIL_PORT" --dir "$mail_dir" > "$log_dir/mailsink.log" 2>&1 &
    pids+=($!)
fi
export BELLMAN_BASE_URL=${BELLMAN_BASE_URL:-http://$host}
"$py" manage.py migrate --noinput >/dev/null
"$py" manage.py check
# Unit checks (seconds) and training runs (minutes) on worker pools of their own, so that the first feedback
# never waits behind a queue of trainings.
"$venv/bin/celery" -A server.celery worker --queues celery --loglevel INFO --concurrency 1 --hostname "demo@%h" \
    > "$log_dir/worker.log" 2>&1 &
pids+=($!)
"$venv/bin/celery" -A server.celery worker --queues training --loglevel INFO --concurrency 1 --hostname "trainer@%h" \
    > "$log_dir/trainer.log" 2>&1 &
pids+=($!)
# Mail and the grades sent to LMSs go out from a worker of their own, so that a burst never waits behind grading.
"$venv/bin/celery" -A server.celery worker --queues mail,lti --loglevel INFO --concurrency 1 --hostname "mail@%h" \
    > "$log_dir/mail-worker.log" 2>&1 &
pids+=($!)
"$venv/bin/celery" -A server.celery beat --loglevel INFO --schedule "$BELLMAN_VAR_DIR/celerybeat-schedule" \
    > "$log_dir/beat.log" 2>&1 &
pids+=($!)
scripts/web.sh "$host" > "$log_dir/web.log" 2>&1 &
pids+=($!)
# Celery's monitoring: workers, tasks, queues.
flower_port=${BELLMAN_FLOWER_PORT:-5555}
scripts/flower.sh 127.0.0.1 "$flower_port" > "$log_dir/flower.log" 2>&1 &
pids+=($!)

"$py" manage.py demo_course --submit assignments/qlearning-cliffwalking/examples/passes_all.py \
    --base-url "http://$host" --wait 180 --mail-dir "$mail_dir"
say "serving on http://$host (worker log: $log_dir/worker.log; Flower: http://127.0.0.1:$flower_port, log-in in $BELLMAN_VAR_DIR/flower_auth unless FLOWER_BASIC_AUTH is set). Ctrl-C stops everything."
wait -n "${pids[@]}" || true
say "a process ended unexpectedly; see $log_dir/"
