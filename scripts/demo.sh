#!/usr/bin/env bash
# make demo: set up, start Redis, Docker Engine, a Celery worker and the web server, load a
# demo course, grade one demo submission and print where to see it. Ctrl-C stops it all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh
load_env
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}
host=${BELLMAN_DEMO_ADDR:-127.0.0.1:8000}

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
"$py" manage.py migrate --noinput >/dev/null
"$py" manage.py check
"$venv/bin/celery" -A grader.celery worker --loglevel INFO --concurrency 1 --hostname "demo@%h" \
    > "$log_dir/worker.log" 2>&1 &
pids+=($!)
"$py" manage.py runserver --noreload "$host" > "$log_dir/web.log" 2>&1 &
pids+=($!)

"$py" manage.py demo_course --submit assignments/qlearning-cliffwalking/examples/passes_all.py \
    --base-url "http://$host" --wait 180
say "serving on http://$host (worker log: $log_dir/worker.log). Ctrl-C stops everything."
wait -n "${pids[@]}" || true
say "a process ended unexpectedly; see $log_dir/"
