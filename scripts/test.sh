#!/usr/bin/env bash
# make test: set up what is missing, run the linters, start the services the suite needs, run the whole suite.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh --test
status=0
if [ $# -eq 0 ]; then
    # The linters first (ruff, mypy: scripts/lint.sh); a failure fails the run, and the suite still runs.
    scripts/lint.sh || status=$?
fi
load_env
trap stop_started EXIT
start_dockerd
start_postgres
# The whole suite on PostgreSQL, as production runs; then a smoke test on SQLite, the embedded default
# (with the test of what only SQLite does: its database files kept private).
SQLITE_ONLY=tests/server/test_security.py::test_the_test_database_is_private_too
# And what only PostgreSQL does (row locks), left out of the SQLite pass by the list above.
if [ $# -eq 0 ]; then
    "$py" -m pytest --deselect "$SQLITE_ONLY" || status=$?
    say "smoke test on SQLite"
    BELLMAN_TEST_POSTGRES_URL= "$py" -m pytest -q tests/server/test_submit.py tests/server/test_services.py \
        tests/server/test_grading.py tests/server/test_demo_course.py "$SQLITE_ONLY" || status=$?
    # The deployment itself: compose, offline images, several grading hosts, one killed (make cluster-test).
    say "the cluster test"
    scripts/cluster-test.sh || status=$?
else
    "$py" -m pytest "$@" || status=$?
fi
exit $status
