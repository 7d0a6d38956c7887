"""Bellman's grader, a library: it knows assignment folders, sandboxes and scores, and nothing of Django,
the database or the queue (server/ calls it; it never calls server/).

    from grader import GradingConfig, grade
    from sandbox import get_backend

    report = grade("assignments/dqn-cartpole", "solution.py", GradingConfig(backend=get_backend("bwrap")))
    print(report.score, [c.status for c in report.checks])
"""
from grader.pipeline import GradingConfig, grade_file as grade

__all__ = ["GradingConfig", "grade"]
