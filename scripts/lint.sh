#!/usr/bin/env bash
# make lint, and the first step of make test: ruff (lint and import order) and mypy (types), both configured
# in pyproject.toml. Every check runs; the status is a failure when any of them failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# What is checked (assignments: their checks.py and reference solutions; see [tool.ruff] for what is left out).
RUFF_PATHS=(grader sandbox server bench tests assignments)
MYPY_PATHS=(grader sandbox)

"$py" -m ruff --version >/dev/null 2>&1 && "$py" -m mypy --version >/dev/null 2>&1 \
    || die "ruff and mypy are not installed in .venv: run make setup"
status=0
say "ruff on ${RUFF_PATHS[*]}"
"$py" -m ruff check "${RUFF_PATHS[@]}" || status=$?
say "mypy on ${MYPY_PATHS[*]}"
"$py" -m mypy "${MYPY_PATHS[@]}" || status=$?
# The in-sandbox runner runs standalone, as `python3 runner.py` beside framing.py, and is checked as such
# (see [tool.mypy] in pyproject.toml).
say "mypy on the in-sandbox runner"
"$py" -m mypy sandbox/runner/runner.py sandbox/runner/framing.py sandbox/runner/wire.py sandbox/runner/proxyenv.py || status=$?
# Each assignment's checks.py on its own: the folders share file names (checks.py, reference.py), which one
# mypy run would take for one module. Examples, templates and reference solutions are students' material.
for checks in assignments/*/checks.py; do
    say "mypy on $checks"
    "$py" -m mypy "$checks" || status=$?
done
# The probes an assignment's checks run in the sandbox (probes/*.py), one folder at a time for the same reason.
for probes in assignments/*/probes; do
    say "mypy on $probes"
    "$py" -m mypy "$probes" || status=$?
done
[ $status -eq 0 ] || say "lint failed (status $status)"
exit $status
