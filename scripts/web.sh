#!/usr/bin/env bash
# The web server as production runs it, for `make demo`: gunicorn, DEBUG off unless DJANGO_DEBUG says otherwise,
# static files served by WhiteNoise, Django's real 404 and 500 pages. Usage: scripts/web.sh HOST:PORT
set -euo pipefail
. "$(dirname "$0")/lib.sh"
export DJANGO_DEBUG=${DJANGO_DEBUG:-false}
exec "$venv/bin/gunicorn" server.wsgi --bind "${1:?usage: scripts/web.sh HOST:PORT}" --workers 2 --threads 4 \
    --access-logfile - --error-logfile -
