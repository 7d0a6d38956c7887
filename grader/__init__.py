"""Bellman's grader, a library: it knows assignment folders, sandboxes and scores, and nothing of Django,
the database or the queue (server/ calls it; it never calls server/).

    from grader import GradingConfig, grade
    from sandbox import get_backend

    report = grade("assignments/dqn-cartpole", "solution.py", GradingConfig(backend=get_backend("bwrap")))
    print(report.score, [c.status for c in report.checks])
"""
from pathlib import Path

from grader.assignments import AssignmentFolder, load as load_folder, validate as validate_folder
from grader.pipeline import GradingConfig, grade as grade_bytes
from grader.report import Report

__all__ = ["GradingConfig", "grade"]


def grade(folder: "AssignmentFolder | str | Path", file: "str | Path", config: GradingConfig, *,
               only=()) -> Report:
    """Grade the file at ``file`` for the assignment in ``folder`` (its path, or an AssignmentFolder): the
    library's entry point (``grader.grade``), which the ``grade`` command and the benchmarks call."""
    if not isinstance(folder, AssignmentFolder):
        folder = load_folder(Path(folder))
        validate_folder(folder)
    path = Path(file)
    return grade_bytes(folder, path.name, path.read_bytes(), config, only=only)

