#!/usr/bin/env bash
# make bench: set up what is missing, then print the benchmark figures.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh
load_env
trap stop_started EXIT
start_dockerd
for bench in bench/*.py; do
    say "$bench"
    "$py" "$bench"
done
