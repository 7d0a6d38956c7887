#!/usr/bin/env bash
# make bench: set up what is missing, then print the benchmark figures.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scripts/setup.sh
load_env
trap stop_started EXIT
start_dockerd
# The figures; calibrate.py and reinforce_settings.py are calibration tools run by hand (README).
for bench in bench/grading.py bench/proxy.py bench/written.py bench/written_read.py bench/dashboard.py bench/metrics.py bench/mail.py; do
    say "$bench"
    "$py" "$bench"
done
