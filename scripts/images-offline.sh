#!/usr/bin/env bash
# make images-offline: what docker-compose.offline.yml needs, on a machine that reaches no container registry:
# docker-compose (Debian's) to run it, the virtual environment whose wheels go into the image, Docker Engine
# started, then every image (docker/offline-images.sh). Safe to run again: what is up to date is kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! command -v docker-compose >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "docker-compose is missing: run as root, or install it first"
    say "installing docker-compose"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >&2
fi
scripts/setup.sh
start_dockerd
say "building the offline images (log: $log_dir/offline-images.log)"
docker/offline-images.sh > "$log_dir/offline-images.log" 2>&1 || die "the offline images failed; see $log_dir/offline-images.log"
say "images ready: $(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^bellman-(offline|proxy|sandbox):latest' | sort | tr '\n' ' ')"
