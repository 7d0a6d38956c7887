"""The kinds of assignment: what the grader does with a folder, decided in one place per kind.

An assignment's spec.toml names its kind (``kind = "code"``, the default, or ``"written"``). A kind is a class
registered here that owns what differs between kinds: the files its folder must hold and the templates students
download, how its checks are read and validated, how an upload is read, the pipeline's steps, the maximum score,
the time budget, and whether its scores are suggestions an instructor reviews before students see them
(``reviewed``). Everything else (the course's pages, the gradebook, the API) asks the kind, never which one it
is. A third kind is a folder of assignments plus a class here.
"""
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from grader.errors import AssignmentError
from grader.spec import CheckSpec, Spec

if TYPE_CHECKING:
    from grader.assignments import AssignmentFolder


class Kind:
    """The behaviour of one kind of assignment (one instance each, registered by ``register``)."""

    name: ClassVar[str]
    files: ClassVar[tuple[str, ...]]  # what the folder must hold besides spec.toml
    template_names: ClassVar[tuple[str, ...]]  # the files students download to start from, where present
    extensions: ClassVar[tuple[str, ...]]  # the files an upload may be
    reviewed: ClassVar[bool] = False  # its scores are suggestions until an instructor reviews and publishes them
    trains: ClassVar[bool] = False  # it may have learning-curve checks (the training phase)

    def checks(self, path: Path, slug: str, spec: Spec) -> tuple[CheckSpec, ...]:
        """The checks of a folder being loaded; AssignmentError says what is wrong with it."""
        raise NotImplementedError

    def validate(self, folder: "AssignmentFolder") -> None:
        """Deeper checks than loading (run at start-up and by ``manage.py check``); AssignmentError."""

    def read(self, folder: "AssignmentFolder", filename: str, data: bytes, *, max_bytes: int) -> str:
        """An upload as the text stored and graded; SubmissionRejected says what is wrong with it."""
        raise NotImplementedError

    def max_upload_bytes(self, folder: "AssignmentFolder | None", limit: int) -> int:
        """The largest upload it takes, given the server's ``limit``."""
        return limit

    def steps(self) -> tuple[Callable, ...]:
        """The pipeline's steps for this kind, each a function of the grading's Job (grader.pipeline)."""
        raise NotImplementedError

    def max_score(self, folder: "AssignmentFolder", checks) -> float:
        """The most ``checks`` (CheckSpecs of the folder) can give."""
        return float(sum(c.points for c in checks))

    def time_budget(self, folder: "AssignmentFolder", check_ids: tuple, *, parallel_runs: int) -> float:
        """The longest grading of ``check_ids`` (all checks when empty) can last, in seconds."""
        raise NotImplementedError


_KINDS: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    """Class decorator: make ``cls`` the kind named ``cls.name``."""
    _KINDS[cls.name] = cls()
    return cls


def get(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise AssignmentError(f"unknown kind {name!r} (known: {', '.join(sorted(_KINDS))})") from None


def names() -> list[str]:
    return sorted(_KINDS)


# The built-in kinds register themselves.
from grader.kinds import code, written  # noqa: E402, F401, I001
