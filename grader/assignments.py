"""The assignment registry: one folder per assignment under ``assignments/``, found by slug.

An ``AssignmentFolder`` is what the grader knows of an assignment: its files and its typed spec
(grader.spec). The course's assignment (due dates, points counted, the Django model) is the server's."""
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader import kinds
from grader.errors import AssignmentError
from grader.spec import CheckSpec, Spec, load_spec
from grader.written.rubric import Rubric, load_rubric

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "assignments"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class AssignmentFolder:
    slug: str
    path: Path
    title: str
    spec: Spec = field(hash=False)
    checks: tuple[CheckSpec, ...] = ()

    @property
    def kind(self) -> kinds.Kind:
        """What the grader does with it (grader.kinds): its steps, its budget, whether it is reviewed."""
        return kinds.get(self.spec.kind)

    def phase_checks(self, phase: str) -> list[str]:
        """The ids of the checks graded in ``phase`` ("units" or "training")."""
        return [c.id for c in self.checks if c.phase == phase]

    @property
    def max_score(self) -> float:
        return self.max_score_of(self.checks)

    def max_score_of(self, checks) -> float:
        """The most ``checks`` can give (a written assignment counts only some of its essays)."""
        return self.kind.max_score(self, checks)

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
        """The longest grading of ``check_ids`` (all checks when empty) can last, from the spec (each kind says
        how). The task's time limits are derived from it, and the grading stops by it with a result."""
        return self.kind.time_budget(self, tuple(check_ids), parallel_runs=parallel_runs)

    def templates(self) -> list[Path]:
        return [self.file(name) for name in self.kind.template_names if self.file(name).exists()]


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
    kind = kinds.get(spec.kind)
    missing = [name for name in ("spec.toml", *kind.files) if not (path / name).exists()]
    if missing:
        raise AssignmentError(f"{slug}: missing {', '.join(missing)}")
    return AssignmentFolder(slug=slug, path=path, title=spec.title or slug, spec=spec,
                            checks=kind.checks(path, slug, spec))


def validate(assignment: AssignmentFolder) -> None:
    """Deeper checks than ``load`` (a code assignment: every check id has a function in checks.py)."""
    assignment.kind.validate(assignment)


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
