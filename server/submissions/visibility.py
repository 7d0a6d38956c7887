"""What a student may see of a report: hidden checks stay hidden until their due date.

A hidden check shows that it exists and its points, never its status, score, feedback or details;
the total shown is the visible checks' sum, so the hidden score cannot be worked out from it. When
the learning curve is hidden, so are the curves. The grader's flags and integrity figures for the instructor are
never shown.
"""
import copy

from server.courses.models import Enrolment

HIDDEN_FEEDBACK = "This check's result is shown after the due date."


def student_report(report: dict | None, *, hidden: set, hide: bool, staff: bool = False) -> dict:
    """``report`` (the CLI's JSON) as its student sees it (``staff``: as the course's instructors do). The
    grader's flags for the instructor (``details["flags"]``: a learning curve it could not take at face
    value) and its integrity figures (``details["integrity"]``: the ablations and agreements that decide whether
learning earned a curve) are staff-only: telling a student which heuristic fired tells them what to avoid."""
    report = copy.deepcopy(report or {})
    if not staff:
        for check in report.get("checks", []):
            if isinstance(check.get("details"), dict):
                check["details"].pop("flags", None)
                check["details"].pop("integrity", None)
    if not hide or not hidden:
        return report
    checks = []
    for check in report.get("checks", []):
        if check.get("id") in hidden:
            checks.append({"id": check["id"], "status": "hidden", "score": None,
                           "max_score": check.get("max_score"), "feedback": HIDDEN_FEEDBACK, "hidden": True})
        else:
            checks.append(check)
    report["checks"] = checks
    report.pop("hidden_output_tail", None)  # what the hidden checks' sandboxes printed
    report["score"] = round(sum(c["score"] for c in checks if not c.get("hidden") and c.get("score") is not None), 2)
    report["hidden_points"] = round(sum(c.get("max_score") or 0 for c in checks if c.get("hidden")), 2)
    if "learning_curve" in hidden:
        report["curves"] = []
    return report


def hides_for(assignment, *, role: str | None, now, due) -> bool:
    """Whether ``assignment``'s hidden checks are hidden from this viewer now (never from the course's staff)."""
    return role not in Enrolment.STAFF and assignment.hides_results(now, due)
