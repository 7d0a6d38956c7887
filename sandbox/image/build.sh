#!/usr/bin/env bash
# Builds the sandbox root filesystem (used by the bwrap backend) and, when Docker
# Engine answers, the sandbox image (used by the docker backend) from it.
#
#   BELLMAN_IMAGE_SOURCE=auto       (default) registry when python:3.11-slim can be pulled, else offline
#   BELLMAN_IMAGE_SOURCE=registry   docker build from python:3.11-slim (Dockerfile); the bwrap root
#                                   filesystem is then exported from that image
#   BELLMAN_IMAGE_SOURCE=offline    debootstrap + local wheels, no registry needed; the image is
#                                   imported from that root filesystem
#
# Idempotent: each part is rebuilt only when requirements.txt or the format below changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
var=${BELLMAN_VAR_DIR:-$top/var}
# Same default as the settings: bwrap runs as uid 65534, which must be able to reach the rootfs.
if [ "$(id -u)" = 0 ]; then default_rootfs=/var/lib/bellman/sandbox-rootfs; else default_rootfs=$var/sandbox/rootfs; fi
rootfs=${SANDBOX_ROOTFS:-$default_rootfs}
image=${SANDBOX_IMAGE:-bellman-sandbox:latest}
# Bump when a change to this script changes what is built; requirements.txt counts by itself.
format=1
stamp=$( (cat "$here/requirements.txt"; echo "format=$format") | sha256sum | cut -c1-16)

log() { echo "[sandbox-image] $*" >&2; }

. "$top/scripts/lib.sh"  # debian_mirror (the machine's own apt source)

build_rootfs() {
    if [ -f "$rootfs/.bellman-stamp" ] && [ "$(cat "$rootfs/.bellman-stamp")" = "$stamp" ]; then
        log "rootfs up to date: $rootfs"
        return
    fi
    local tmp="$rootfs.tmp"
    rm -rf "$tmp"
    mkdir -p "$(dirname "$rootfs")"
    log "debootstrap into $tmp"
    debootstrap --variant=minbase --include=python3 bookworm "$tmp" "$(debian_mirror)" >&2
    log "installing $(grep -vc '^#' "$here/requirements.txt") Python packages from local wheels"
    python3 -m pip install --quiet --no-compile --disable-pip-version-check \
        --target "$tmp/usr/local/lib/python3.11/dist-packages" \
        --python-version 3.11 --only-binary=:all: --platform manylinux_2_28_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        -r "$here/requirements.txt" >&2
    # Nothing the sandbox needs lives here, and less is less to attack.
    rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* \
        "$tmp/usr/share/doc" "$tmp/usr/share/man" "$tmp/usr/share/locale"
    find "$tmp/usr/local/lib/python3.11/dist-packages" -name '__pycache__' -prune -exec rm -rf {} +
    mkdir -p "$tmp/opt/bellman/runner" "$tmp/submission" "$tmp/work"
    # Byte-compile once so every sandbox start does not pay for it (the root is read-only).
    chroot "$tmp" python3 -m compileall -q -j 0 /usr/lib/python3.11 /usr/local/lib/python3.11/dist-packages >/dev/null 2>&1 || true
    echo "$stamp" > "$tmp/.bellman-stamp"
    rm -rf "$rootfs"
    mv "$tmp" "$rootfs"
    log "rootfs ready: $rootfs ($(du -sh "$rootfs" | cut -f1))"
}

docker_up() { docker info >/dev/null 2>&1; }

build_image_offline() {
    if ! docker_up; then
        log "Docker Engine does not answer: skipping the image (the bwrap backend needs only the rootfs)"
        return
    fi
    if [ "$(docker image inspect -f '{{ index .Config.Labels "bellman.stamp" }}' "$image" 2>/dev/null)" = "$stamp" ]; then
        log "image up to date: $image"
        return
    fi
    log "importing $rootfs as $image"
    tar -C "$rootfs" -c . | docker import \
        --change "LABEL bellman.stamp=$stamp" \
        --change "USER 65534:65534" \
        --change "WORKDIR /work" \
        --change "ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8" \
        - "$image" >/dev/null
    log "image ready: $image"
}

build_from_registry() {
    if [ "$(docker image inspect -f '{{ index .Config.Labels "bellman.stamp" }}' "$image" 2>/dev/null)" != "$stamp" ]; then
        docker build --label "bellman.stamp=$stamp" -t "$image" "$here" >&2
    fi
    if [ "$(cat "$rootfs/.bellman-stamp" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    log "exporting $image as the bwrap root filesystem $rootfs"
    local tmp="$rootfs.tmp" cid
    rm -rf "$tmp" && mkdir -p "$tmp"
    cid=$(docker create "$image")
    docker export "$cid" | tar -x -C "$tmp"
    docker rm "$cid" >/dev/null
    echo "$stamp" > "$tmp/.bellman-stamp"
    rm -rf "$rootfs" && mv "$tmp" "$rootfs"
}

source_kind=${BELLMAN_IMAGE_SOURCE:-auto}
if [ "$source_kind" = auto ]; then
    source_kind=offline
    if docker_up && timeout 120 docker pull -q python:3.11-slim >/dev/null 2>&1; then
        source_kind=registry
    fi
fi
log "building from: $source_kind"
if [ "$source_kind" = registry ]; then
    build_from_registry
else
    build_rootfs
    build_image_offline
fi
