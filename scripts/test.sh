#!/usr/bin/env bash
# make test: set up what is missing, start the services the suite needs, run the whole suite.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh --test
load_env
trap stop_started EXIT
start_dockerd
status=0
"$py" -m pytest "$@" || status=$?
exit $status
