#!/usr/bin/env bash
# Installs whatever is missing, and nothing else: Debian packages, the virtual environment,
# the sandbox root filesystem and image. Safe to run again. `--test` adds the browser.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

packages=()
want() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
want redis-server redis-server
want bwrap bubblewrap
want dockerd docker.io
want debootstrap debootstrap
if [ "${1:-}" = "--test" ]; then
    want chromium chromium
    want chromedriver chromium-driver
    # The browser tests inject axe-core (npm) into the pages they audit.
    want node nodejs
    want npm npm
    # The metrics test has a real Prometheus scrape /metrics.
    want prometheus prometheus
    # The server tests run on PostgreSQL (a server of the test run's own, on loopback).
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
fi
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || packages+=(python3-venv)
if [ ${#packages[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${packages[*]}: run as root, or install them first"
    say "installing ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

stamp=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x "$py" ] || [ "$(cat "$venv/.bellman-stamp" 2>/dev/null)" != "$stamp" ]; then
    say "installing the Python dependencies into .venv (log: $log_dir/pip.log)"
    [ -x "$py" ] || python3 -m venv "$venv"
    {
        "$py" -m pip install --disable-pip-version-check --upgrade pip
        # torch first and pinned, so that nothing pulls in a newer (CUDA) build.
        "$py" -m pip install --disable-pip-version-check "torch==2.13.0"
        "$py" -m pip install --disable-pip-version-check -e ".[test]"
    } > "$log_dir/pip.log" 2>&1 || die "pip failed; see $log_dir/pip.log"
    echo "$stamp" > "$venv/.bellman-stamp"
fi

if [ "${1:-}" = "--test" ] && [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    say "installing the browser tests' npm packages (tests/browser: axe-core)"
    npm ci --prefix tests/browser --no-audit --no-fund >"$log_dir/npm.log" 2>&1 || die "npm failed; see $log_dir/npm.log"
fi

start_dockerd
sandbox/image/build.sh
