#!/usr/bin/env bash
# Builds every image docker-compose.yml needs without a container registry, for docker-compose.offline.yml:
#
#   bellman-offline-base     Debian bookworm (debootstrap, the machine's own apt source) with Python 3.11,
#                            PostgreSQL and Redis from Debian's packages and the project's Python dependencies
#                            (the wheels already installed in .venv, the same versions pip resolved from
#                            pyproject.toml); rebuilt when those change
#   bellman-offline:latest   the project under /app on top of it (docker/offline.Dockerfile, seconds): the web,
#                            workers, beat, database and Redis all run from it, each with its own command
#   bellman-proxy:latest     nginx (docker/proxy-image.sh)
#   bellman-sandbox:latest   the sandbox (sandbox/image/build.sh)
#
#   docker/offline-images.sh         # idempotent
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
image=${BELLMAN_OFFLINE_IMAGE:-bellman-offline:latest}
base=bellman-offline-base:latest
site=$top/.venv/lib/python3.11/site-packages

log() { echo "[offline-images] $*" >&2; }
. "$top/scripts/lib.sh"  # debian_mirror

docker info >/dev/null 2>&1 || { log "Docker Engine does not answer"; exit 1; }
[ -d "$site" ] || { log "no .venv with Python 3.11 (run scripts/setup.sh first)"; exit 1; }
"$here/proxy-image.sh"
"$top/sandbox/image/build.sh"

build_base() {
    # What the base holds: this script and the dependencies' versions.
    local stamp
    stamp=$( (cat "$here/offline-images.sh" "$here/offline-entry.sh";
              "$top/.venv/bin/python" -m pip freeze --exclude-editable 2>/dev/null) | sha256sum | cut -c1-16)
    if [ "$(docker image inspect -f '{{ index .Config.Labels "bellman.stamp" }}' "$base" 2>/dev/null)" = "$stamp" ]; then
        log "image up to date: $base"
        return
    fi
    command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
    [ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
    tmp=$(mktemp -d /tmp/bellman-offline-rootfs.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    log "debootstrap bookworm with python3, postgresql and redis-server into $tmp"
    debootstrap --variant=minbase --include=python3,postgresql,redis-server,ca-certificates,procps \
        bookworm "$tmp" "$(debian_mirror)" >&2
    rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* \
        "$tmp/usr/share/doc" "$tmp/usr/share/man" "$tmp/usr/share/locale"
    log "the Python dependencies (.venv's wheels, $(du -sh "$site" | cut -f1))"
    local dist=$tmp/usr/local/lib/python3.11/dist-packages
    mkdir -p "$dist" "$tmp/app"
    # The project itself is /app (PYTHONPATH, docker/offline.Dockerfile), not the editable install that points
    # at this checkout.
    tar -C "$site" --exclude='__editable__*' --exclude='bellman*' --exclude='__pycache__' --exclude='pip' \
        --exclude='pip-*' -c . | tar -C "$dist" -x
    # What .venv's newer Python (3.11.7) does without and Debian's 3.11.2 needs (environment markers): redis's
    # async-timeout.
    "$top/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --target "$dist" \
        "async-timeout==5.0.1" >&2
    install -m 0755 "$here/offline-entry.sh" "$tmp/usr/local/bin/bellman"
    # docker-compose.yml's commands name python, celery and gunicorn, as the python:3.11-slim image has them.
    ln -sf /usr/bin/python3 "$tmp/usr/local/bin/python"
    for tool in celery gunicorn; do
        printf '#!/bin/sh\nexec python3 -m %s "$@"\n' "$tool" > "$tmp/usr/local/bin/$tool"
        chmod 0755 "$tmp/usr/local/bin/$tool"
    done
    log "importing as $base"
    tar -C "$tmp" -c . | docker import \
        --change "LABEL bellman.stamp=$stamp" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PYTHONPATH=/app PYTHONUNBUFFERED=1" \
        --change "WORKDIR /app" \
        --change 'ENTRYPOINT ["/usr/local/bin/bellman"]' \
        - "$base" >/dev/null
    rm -rf "$tmp"
    log "image ready: $base ($(docker image inspect -f '{{ .Size }}' "$base" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

build_base
log "the project on top: $image"
docker build -q -t "$image" -f "$here/offline.Dockerfile" "$top" >/dev/null
# Every process of the deployment imports these: a missing dependency fails here, not at `up`.
docker run --rm -e DJANGO_SECRET_KEY=x -e DJANGO_SETTINGS_MODULE=server.settings "$image" python -c "import django; django.setup(); import server.urls, \
server.celery, server.similarity.tasks, server.lti.tasks, psycopg, redis" \
    || { log "the image cannot import the project"; exit 1; }
# The images this replaced (untagged now, about 1.9 GB each), unless a container still uses them.
docker image prune -f --filter label=bellman.stamp >/dev/null || true
log "image ready: $image"
