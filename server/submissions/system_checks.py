"""System checks of grading (tag "grader"), run at start-up by every Django process and by `manage.py check`:
the assignment folders, their specs, the sandbox's limits and the time budgets against the task limits."""
import os
import tomllib
from pathlib import Path

from django.conf import settings
from django.core import checks

from grader.assignments import problems, registry
from grader.errors import AssignmentError
from grader.pipeline import TASK_GRACE_S
from grader.spec import spec_problems
from sandbox.bwrap_backend import BwrapBackend, describe_missing


def check_assignments(app_configs=None, **kwargs):
    """grader.E001: every folder under BELLMAN_ASSIGNMENTS_DIR is a complete, valid assignment."""
    return [checks.Error(problem, hint="Compare the folder with assignments/qlearning-cliffwalking/.",
                         id="grader.E001") for problem in problems(settings.BELLMAN_ASSIGNMENTS_DIR)]


def check_specs(app_configs=None, **kwargs):
    """grader.E002: every spec.toml has only the tables and keys of the schema, with their types."""
    errors = []
    for path in sorted(Path(settings.BELLMAN_ASSIGNMENTS_DIR).glob("*/spec.toml")):
        try:
            spec = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue  # grader.E001 reports a spec that does not parse
        errors += [checks.Error(problem, hint="See grader/spec.py for every table and key.", id="grader.E002")
                   for problem in spec_problems(spec, path)]
    return errors


def check_sandbox_limits(app_configs=None, **kwargs):
    """grader.E003 / W003: the bwrap backend can apply every limit (cgroups for pids, memory and cpu), or the
    operator allowed it to run without them (a warning that names them)."""
    docker_configured = os.environ.get("DOCKER_HOST") or os.path.exists("/var/run/docker.sock")
    if settings.SANDBOX_BACKEND != "bwrap" and not (settings.SANDBOX_BACKEND == "auto" and not docker_configured):
        return []
    backend = BwrapBackend(rootfs=settings.SANDBOX_ROOTFS)
    missing = backend.missing_limits(enable=False)
    if not missing:
        return []
    what = f"the bwrap sandbox backend cannot apply {describe_missing(missing)} on this machine"
    if backend.allow_missing_limits:
        return [checks.Warning(what + "; SANDBOX_ALLOW_MISSING_LIMITS lets it run with rlimits only",
                               hint="Every report says so. Run the worker as root with cgroups, or use docker.",
                               id="grader.W003")]
    return [checks.Error(what + ", so it refuses to start sandboxes",
                         hint="Run the worker as root with cgroups (v1, or v2 with pids, memory and cpu delegated), "
                              "use the docker backend, or set SANDBOX_ALLOW_MISSING_LIMITS=1.", id="grader.E003")]


def check_time_budgets(app_configs=None, **kwargs):
    """grader.W004: an assignment whose longest grading (from its spec) does not fit under the task's soft
    time limit; such gradings are cut at the limit (with a result), so a slow but correct submission could
    lose the checks that did not fit."""
    ceiling = settings.CELERY_TASK_SOFT_TIME_LIMIT - TASK_GRACE_S
    warnings = []
    try:
        folders = registry(settings.BELLMAN_ASSIGNMENTS_DIR).values()
    except AssignmentError:
        return []  # grader.E001 reports it
    for folder in folders:
        for phase in ("units", "training"):
            checks_ = folder.phase_checks(phase)
            budget = folder.time_budget(tuple(checks_), parallel_runs=settings.GRADER_PARALLEL_RUNS)
            if checks_ and budget > ceiling:
                warnings.append(checks.Warning(
                    f"{folder.slug}: its {phase} checks can take {budget:.0f} s, more than the "
                    f"{ceiling:.0f} s a task may (BELLMAN_TASK_SOFT_TIME_LIMIT less {TASK_GRACE_S} s)",
                    hint="Raise BELLMAN_TASK_SOFT_TIME_LIMIT and BELLMAN_TASK_TIME_LIMIT, GRADER_PARALLEL_RUNS, "
                         "or lower the spec's timeouts.", id="grader.W004"))
    return warnings
