#!/usr/bin/env bash
# Flower, Celery's monitor, behind a login (HTTP basic auth): its pages show every task's arguments and its API can
# revoke tasks. The login is FLOWER_BASIC_AUTH (user:password), else one made once into var/flower_auth (0600).
# Usage: scripts/flower.sh ADDRESS PORT
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ -z "${FLOWER_BASIC_AUTH:-}" ]; then
    auth_file="$BELLMAN_VAR_DIR/flower_auth"
    [ -s "$auth_file" ] || (umask 077; echo "ops:$("$py" -c "import secrets; print(secrets.token_urlsafe(18))")" > "$auth_file")
    FLOWER_BASIC_AUTH=$(cat "$auth_file")
fi
exec "$venv/bin/celery" -A server.celery flower --address="${1:?usage: scripts/flower.sh ADDRESS PORT}" \
    --port="${2:?usage: scripts/flower.sh ADDRESS PORT}" --basic-auth="$FLOWER_BASIC_AUTH"
