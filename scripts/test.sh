#!/usr/bin/env bash
# make test: set up what is missing, start the services the suite needs, run the whole suite.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh --test
load_env
trap stop_started EXIT
start_dockerd
start_postgres
status=0
# The whole suite on PostgreSQL, as production runs; then a smoke test on SQLite, the embedded default.
"$py" -m pytest "$@" || status=$?
if [ $# -eq 0 ]; then
    say "smoke test on SQLite"
    BELLMAN_TEST_POSTGRES_URL= "$py" -m pytest -q tests/server/test_submit.py tests/server/test_services.py \
        tests/server/test_grading.py tests/server/test_demo_course.py || status=$?
fi
exit $status
