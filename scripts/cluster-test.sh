#!/usr/bin/env bash
# make cluster-test: the deployment on several grading hosts (tests/cluster/run.py), from images built here
# without a registry (docker/offline-images.sh). Ends with `cluster: N graded, M hosts, lost 0, twice 0`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! command -v docker-compose >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "docker-compose is missing: run as root, or install it first"
    say "installing docker-compose"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >&2
fi
[ -x "$py" ] || scripts/setup.sh
trap stop_started EXIT
start_dockerd
say "building the offline images (log: $log_dir/offline-images.log)"
docker/offline-images.sh > "$log_dir/offline-images.log" 2>&1 || die "the offline images failed; see $log_dir/offline-images.log"
"$py" tests/cluster/run.py
