# The project on top of bellman-offline-base (docker/offline-images.sh builds both; no registry involved: the base
# is a local image imported from a debootstrap'ed root filesystem). Rebuilt in seconds when the code changes.
FROM bellman-offline-base:latest
COPY pyproject.toml manage.py /app/
COPY server /app/server
COPY grader /app/grader
COPY sandbox /app/sandbox
COPY assignments /app/assignments
COPY docker /app/docker
