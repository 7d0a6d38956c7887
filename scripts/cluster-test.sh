#!/usr/bin/env bash
# make cluster-test: the deployment on several grading hosts (tests/cluster/run.py), from images built here
# without a registry (scripts/images-offline.sh). Ends with `cluster: N graded, M hosts, lost 0, twice 0`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
trap stop_started EXIT
scripts/images-offline.sh
"$py" tests/cluster/run.py
