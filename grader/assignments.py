"""The assignment registry: one folder per assignment under ``assignments/``, found by slug.

An ``AssignmentFolder`` is what the grader knows of an assignment: its files and its typed spec
(grader.spec). The course's assignment (due dates, points counted, the Django model) is the server's."""
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.errors import AssignmentError
from grader.spec import CheckSpec, Spec, load_spec
from grader.written.rubric import Rubric, load_rubric

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "assignments"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
REQUIRED_FILES = ("spec.toml", "README.md", "checks.py", "reference.py", "template.py")
# Written answers are data scored against a rubric: no checks.py, no sandbox.
WRITTEN_FILES = ("spec.toml", "README.md", "rubric.toml", "reference.md", "template.md")


DEFAULT_SESSION_S = 300  # [limits] session_timeout_s when the spec does not set it
RUN_MARGIN_S = 60  # a training run's session beyond its run_timeout_s: loading, the greedy evaluation
WRITTEN_BUDGET_S = 120  # scoring written answers: the text model, no sandbox


@dataclass(frozen=True)
class AssignmentFolder:
    slug: str
    path: Path
    title: str
    spec: Spec = field(hash=False)
    checks: tuple[CheckSpec, ...] = ()

    @property
    def is_written(self) -> bool:
        return self.spec.kind == "written"

    def phase_checks(self, phase: str) -> list[str]:
        """The ids of the checks graded in ``phase`` ("units" or "training")."""
        return [c.id for c in self.checks if c.phase == phase]

    @property
    def max_score(self) -> float:
        return self.max_score_of(self.checks)

    def max_score_of(self, checks) -> float:
        """The most ``checks`` can give; of a written assignment's essays, only the counted ones."""
        if self.spec.written is None:
            return float(sum(c.points for c in checks))
        essays = [c for c in checks if c.id in self.rubric().essays]
        counted = sorted((c.points for c in essays), reverse=True)[:self.spec.written.essays_counted]
        return float(sum(c.points for c in checks if c not in essays) + sum(counted))

    def rubric(self) -> Rubric:
        return load_rubric(self.file("rubric.toml"))

    def file(self, name: str) -> Path:
        return self.path / name

    def check_functions(self):
        """The module of check functions; loaded fresh under a private name."""
        path = self.file("checks.py")
        spec = importlib.util.spec_from_file_location(f"bellman_checks_{self.slug.replace('-', '_')}", path)
        if spec is None or spec.loader is None:
            raise AssignmentError(f"{self.slug}: checks.py cannot be loaded")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def time_budget(self, check_ids=(), *, parallel_runs: int = 2) -> float:
        """The longest grading of ``check_ids`` (all checks when empty) can last, from the spec: a unit check
        at most one sandbox session (``[limits] session_timeout_s``), a learning curve its waves of runs
        (``seeds`` by ``parallel_runs``), each at most ``run_timeout_s`` plus RUN_MARGIN_S for loading and the
        evaluation. The task's time limits are derived from it, and the grading stops by it with a result."""
        if self.is_written:
            return WRITTEN_BUDGET_S
        session = float(self.spec.limits.session_timeout_s or DEFAULT_SESSION_S)
        curve = self.spec.learning_curve
        total = 0.0
        for check in self.checks:
            if check_ids and check.id not in check_ids:
                continue
            if check.phase == "training" and curve is not None:
                waves = -(-len(curve.seeds) // max(1, parallel_runs))
                total += waves * (curve.run_timeout_s + RUN_MARGIN_S)
            else:
                total += session
        return total

    def templates(self) -> list[Path]:
        names = ("template.md",) if self.is_written else ("template.py", "template.ipynb")
        return [self.file(name) for name in names if self.file(name).exists()]


def load(path: Path) -> AssignmentFolder:
    """Read one assignment folder; raise AssignmentError naming what is wrong."""
    slug = path.name
    if not SLUG.match(slug):
        raise AssignmentError(f"{slug!r}: a folder name must be a slug (lowercase words joined by '-')")
    if not (path / "spec.toml").exists():
        raise AssignmentError(f"{slug}: missing spec.toml")
    try:
        raw = tomllib.loads((path / "spec.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentError(f"{slug}: spec.toml does not parse: {exc}") from None
    spec = load_spec(raw, path / "spec.toml")
    missing = [name for name in (WRITTEN_FILES if spec.kind == "written" else REQUIRED_FILES)
               if not (path / name).exists()]
    if missing:
        raise AssignmentError(f"{slug}: missing {', '.join(missing)}")
    if spec.kind == "written":
        return _load_written(path, slug, spec)
    checks = spec.checks
    if not checks:
        raise AssignmentError(f"{slug}: spec.toml lists no [[checks]]")
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise AssignmentError(f"{slug}: duplicate check ids in spec.toml")
    if any(c.phase == "training" for c in checks) and spec.learning_curve is None:
        raise AssignmentError(f"{slug}: a check of phase 'training' needs a [learning_curve] table")
    return AssignmentFolder(slug=slug, path=path, title=spec.title or slug, spec=spec, checks=checks)


def _load_written(path: Path, slug: str, spec: Spec) -> AssignmentFolder:
    if spec.written is None:
        raise AssignmentError(f"{slug}: a written assignment needs a [written] table")
    rubric = load_rubric(path / "rubric.toml")
    if not rubric.questions and not rubric.essays:
        raise AssignmentError(f"{slug}: rubric.toml has no questions and no essays")
    if spec.written.essays_counted > len(rubric.essays):
        raise AssignmentError(f"{slug}: essays_counted is {spec.written.essays_counted} but the rubric has "
                              f"{len(rubric.essays)} essays")
    checks = [CheckSpec(id=q.id, points=spec.written.question_points, title=q.title) for q in rubric.questions.values()]
    checks += [CheckSpec(id=e.id, points=spec.written.essay_points, title=e.title) for e in rubric.essays.values()]
    return AssignmentFolder(slug=slug, path=path, title=spec.title or slug, spec=spec, checks=tuple(checks))


def validate(assignment: AssignmentFolder) -> None:
    """Deeper checks than ``load``: every check id has a function in checks.py."""
    if assignment.is_written:
        return  # load() read the rubric and made one check per question and essay
    module = assignment.check_functions()
    for check in assignment.checks:
        if not callable(getattr(module, check.id.replace("-", "_"), None)):
            raise AssignmentError(f"{assignment.slug}: checks.py has no function {check.id}(ctx)")


def registry(root: Path = DEFAULT_ROOT) -> dict:
    """Every valid assignment under ``root``, by slug. Invalid folders are reported by ``problems``.

    Read again when a spec.toml changes, so that a threshold fixed by an instructor applies to the
    next grading (a regrade) without restarting the workers."""
    root = Path(root)
    return _registry(root, _stamp(root))


def _stamp(root: Path) -> tuple:
    return tuple((p.parent.name, p.stat().st_mtime_ns) for p in sorted(root.glob("*/spec.toml")))


@lru_cache(maxsize=8)
def _registry(root: Path, stamp: tuple) -> dict:
    found = {}
    for path in sorted(Path(root).iterdir()):
        if path.is_dir() and (path / "spec.toml").exists():
            try:
                found[path.name] = load(path)
            except AssignmentError:
                continue
    return found


def problems(root: Path = DEFAULT_ROOT) -> list[str]:
    """What is wrong with the assignment folders under ``root``; empty when all is well."""
    out = []
    for path in sorted(Path(root).iterdir()):
        if not path.is_dir() or path.name.startswith((".", "_")):
            continue
        try:
            validate(load(path))
        except AssignmentError as exc:
            out.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken checks.py must be reported, not crash start-up
            out.append(f"{path.name}: checks.py fails to load: {exc}")
    return out


def get(slug: str, root: Path = DEFAULT_ROOT) -> AssignmentFolder:
    try:
        return registry(root)[slug]
    except KeyError:
        known = ", ".join(sorted(registry(root))) or "none"
        raise AssignmentError(f"unknown assignment {slug!r} (known: {known})") from None
