#!/usr/bin/env bash
# Builds bellman-proxy:latest, the reverse proxy of docker-compose.yml: Debian's nginx-light on a
# debootstrap'ed bookworm minbase, imported into Docker Engine. No container registry is needed: the
# packages come from the machine's own apt source, as the offline sandbox image's do
# (sandbox/image/build.sh). The configuration is not in the image: compose mounts docker/nginx.conf.
#
#   docker/proxy-image.sh            # idempotent: rebuilt only when this script changes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${BELLMAN_PROXY_IMAGE:-bellman-proxy:latest}
stamp=$(sha256sum "$here/proxy-image.sh" | cut -c1-16)

log() { echo "[proxy-image] $*" >&2; }
. "$here/../scripts/lib.sh"  # debian_mirror

docker info >/dev/null 2>&1 || { log "Docker Engine does not answer"; exit 1; }
if [ "$(docker image inspect -f '{{ index .Config.Labels "bellman.stamp" }}' "$image" 2>/dev/null)" = "$stamp" ]; then
    log "image up to date: $image"
    exit 0
fi
command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
[ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
tmp=$(mktemp -d /tmp/bellman-proxy-rootfs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
log "debootstrap bookworm minbase with nginx-light into $tmp"
debootstrap --variant=minbase --include=nginx-light bookworm "$tmp" "$(debian_mirror)" >&2
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* \
    "$tmp/usr/share/doc" "$tmp/usr/share/man" "$tmp/usr/share/locale"
log "importing as $image"
tar -C "$tmp" -c . | docker import \
    --change "LABEL bellman.stamp=$stamp" \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8" \
    --change "EXPOSE 80" \
    --change 'CMD ["nginx", "-g", "daemon off;"]' \
    - "$image" >/dev/null
log "image ready: $image ($(docker image inspect -f '{{ .Size }}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}'))"
