"""The assignment registry: one folder per assignment under ``assignments/``, found by slug."""
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.errors import AssignmentError

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "assignments"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
REQUIRED_FILES = ("spec.toml", "README.md", "checks.py", "reference.py", "template.py")


@dataclass(frozen=True)
class CheckSpec:
    id: str
    points: float
    title: str
    requires: tuple = ()


@dataclass(frozen=True)
class Assignment:
    slug: str
    path: Path
    title: str
    spec: dict = field(hash=False)
    checks: tuple = ()

    @property
    def max_score(self) -> float:
        return float(sum(c.points for c in self.checks))

    def file(self, name: str) -> Path:
        return self.path / name

    def check_functions(self):
        """The module of check functions; loaded fresh under a private name."""
        path = self.file("checks.py")
        spec = importlib.util.spec_from_file_location(f"bellman_checks_{self.slug.replace('-', '_')}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def templates(self):
        return [p for p in (self.file("template.py"), self.file("template.ipynb")) if p.exists()]


def load(path: Path) -> Assignment:
    """Read one assignment folder; raise AssignmentError naming what is wrong."""
    slug = path.name
    if not SLUG.match(slug):
        raise AssignmentError(f"{slug!r}: a folder name must be a slug (lowercase words joined by '-')")
    missing = [name for name in REQUIRED_FILES if not (path / name).exists()]
    if missing:
        raise AssignmentError(f"{slug}: missing {', '.join(missing)}")
    try:
        spec = tomllib.loads((path / "spec.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentError(f"{slug}: spec.toml does not parse: {exc}") from None
    checks = []
    for raw in spec.get("checks", []):
        try:
            checks.append(CheckSpec(id=raw["id"], points=float(raw["points"]), title=raw.get("title", raw["id"]),
                                    requires=tuple(raw.get("requires", ()))))
        except (KeyError, TypeError, ValueError):
            raise AssignmentError(f"{slug}: every [[checks]] entry needs an id and points") from None
    if not checks:
        raise AssignmentError(f"{slug}: spec.toml lists no [[checks]]")
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise AssignmentError(f"{slug}: duplicate check ids in spec.toml")
    if any(c.points <= 0 for c in checks):
        raise AssignmentError(f"{slug}: every check must be worth more than 0 points")
    return Assignment(slug=slug, path=path, title=spec.get("title", slug), spec=spec, checks=tuple(checks))


def validate(assignment: Assignment) -> None:
    """Deeper checks than ``load``: every check id has a function in checks.py."""
    module = assignment.check_functions()
    for check in assignment.checks:
        if not callable(getattr(module, check.id.replace("-", "_"), None)):
            raise AssignmentError(f"{assignment.slug}: checks.py has no function {check.id}(ctx)")


@lru_cache(maxsize=8)
def registry(root: Path = DEFAULT_ROOT) -> dict:
    """Every valid assignment under ``root``, by slug. Invalid folders are reported by ``problems``."""
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


def get(slug: str, root: Path = DEFAULT_ROOT) -> Assignment:
    try:
        return registry(root)[slug]
    except KeyError:
        known = ", ".join(sorted(registry(root))) or "none"
        raise AssignmentError(f"unknown assignment {slug!r} (known: {known})") from None
