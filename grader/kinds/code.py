"""Code assignments: a Python file (or a notebook) run in the sandbox against the checks of the folder's
checks.py, unit checks first, then learning curves on the training queue."""
from collections.abc import Callable
from pathlib import Path

from grader import pipeline
from grader.errors import AssignmentError
from grader.kinds import Kind, register
from grader.normalise import EXTENSIONS, to_source
from grader.spec import DEFAULT_SESSION_S, RUN_MARGIN_S, CheckSpec, Spec


@register
class Code(Kind):
    name = "code"
    files = ("README.md", "checks.py", "reference.py", "template.py")
    template_names = ("template.py", "template.ipynb")
    extensions = tuple(EXTENSIONS)
    trains = True

    def checks(self, path: Path, slug: str, spec: Spec) -> tuple[CheckSpec, ...]:
        checks = spec.checks
        if not checks:
            raise AssignmentError(f"{slug}: spec.toml lists no [[checks]]")
        ids = [c.id for c in checks]
        if len(set(ids)) != len(ids):
            raise AssignmentError(f"{slug}: duplicate check ids in spec.toml")
        if any(c.phase == "training" for c in checks) and spec.learning_curve is None:
            raise AssignmentError(f"{slug}: a check of phase 'training' needs a [learning_curve] table")
        return tuple(checks)

    def validate(self, folder) -> None:
        """Every check id has a function in checks.py."""
        module = folder.check_functions()
        for check in folder.checks:
            if not callable(getattr(module, check.id.replace("-", "_"), None)):
                raise AssignmentError(f"{folder.slug}: checks.py has no function {check.id}(ctx)")

    def read(self, folder, filename: str, data: bytes, *, max_bytes: int) -> str:
        return to_source(filename, data, max_bytes=max_bytes)[0]

    def steps(self) -> tuple[Callable, ...]:
        return pipeline.STEPS

    def time_budget(self, folder, check_ids: tuple, *, parallel_runs: int) -> float:
        """A unit check at most one sandbox session (``[limits] session_timeout_s``), a learning curve its
        waves of runs (``seeds`` by ``parallel_runs``), each at most ``run_timeout_s`` plus RUN_MARGIN_S for
        loading and the evaluation."""
        session = float(folder.spec.limits.session_timeout_s or DEFAULT_SESSION_S)
        curve = folder.spec.learning_curve
        total = 0.0
        for check in folder.checks:
            if check_ids and check.id not in check_ids:
                continue
            if check.phase == "training" and curve is not None:
                waves = -(-len(curve.seeds) // max(1, parallel_runs))
                total += waves * (curve.run_timeout_s + RUN_MARGIN_S)
            else:
                total += session
        return total
