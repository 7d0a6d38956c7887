"""Deadlines, submission limits and the score that counts: the rules of an assignment, applied.

Every function takes ``now`` (or reads the submission's own time) so that deadlines are testable;
none of them is called with a model instance per student in a loop: the course page, the dashboard
and the gradebook read a whole class in a fixed number of queries.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.courses.models import Assignment, Enrolment, Extension
from server.submissions.models import Submission


@dataclass(frozen=True)
class Acceptance:
    """Whether a student may submit now, and if not, why and when they may again."""

    allowed: bool
    reason: str = ""
    next_allowed_at: datetime | None = None
    used: int = 0  # submissions inside the rolling window
    # Why not, for a program to act on: closed (by the instructor), not_open (before opens_at),
    # past_deadline (after the cut-off or late-until), limit (the submission limit).
    code: str = ""


@dataclass(frozen=True)
class Standing:
    """A student's result on one assignment under its policy."""

    submission_id: int | None = None
    score: float | None = None  # after the late penalty
    raw_score: float | None = None
    max_score: float | None = None
    late_days: int = 0
    submitted: bool = False
    status: str = ""
    submitted_at: datetime | None = None


def personal_due(assignment: Assignment, student) -> datetime | None:
    extension = Extension.objects.filter(assignment=assignment, student=student).values_list("due_at", flat=True)
    return assignment.due_for(extension.first())


def extensions_by_student(assignment_ids) -> dict:
    """``{(assignment_id, student_id): due_at}`` for every extension of these assignments."""
    rows = Extension.objects.filter(assignment_id__in=list(assignment_ids)).values_list(
        "assignment_id", "student_id", "due_at")
    return {(a, s): due for a, s, due in rows}


def acceptance(assignment: Assignment, student, *, now: datetime, role: str | None = None) -> Acceptance:
    """May ``student`` submit to ``assignment`` at ``now``? Instructors always may (to try their checks)."""
    if role in Enrolment.STAFF:
        return Acceptance(True)
    if not assignment.is_open:
        return Acceptance(False, "This assignment is closed for submissions.", code="closed")
    if assignment.opens_at and now < assignment.opens_at:
        return Acceptance(False, f"This assignment opens on {_when(assignment.opens_at)}.",
                          next_allowed_at=assignment.opens_at, code="not_open")
    due = personal_due(assignment, student)
    closes = assignment.closes_at(due)
    if closes and now > closes:
        return Acceptance(False, f"Submissions closed on {_when(closes)}"
                          + (" (the due date: this assignment takes no late submissions)."
                             if assignment.late_policy == Assignment.LATE_CUTOFF else "."), code="past_deadline")
    if assignment.submission_limit is None:
        return Acceptance(True)
    window = timedelta(hours=assignment.limit_window_hours)
    recent = list(assignment.submissions.filter(student=student, created_at__gt=now - window)
                  .order_by("created_at").values_list("created_at", flat=True))
    if len(recent) < assignment.submission_limit:
        return Acceptance(True, used=len(recent))
    # The window frees a slot when the oldest submission that still counts in it leaves it.
    next_at = recent[len(recent) - assignment.submission_limit] + window
    return Acceptance(False, f"You have used your {assignment.submission_limit} submissions of the last "
                      f"{_hours(assignment.limit_window_hours)}; you can submit again at {_when(next_at)}.",
                      next_allowed_at=next_at, used=len(recent), code="limit")


def _when(moment: datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%a %d %b %Y, %H:%M %Z")


def _hours(hours: float) -> str:
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def standings(assignments, *, published_only: bool = True) -> dict:
    """``{(assignment_id, student_id): Standing}`` for every student who submitted to ``assignments``.

    The submission that counts is the latest graded one or the best (after the late penalty), as each
    assignment says; an assignment whose scores are reviewed (Assignment.reviewed: written answers) counts only
    its published scores, unless not ``published_only`` (a regrade's targets). Two queries in all.
    """
    by_id = {a.pk: a for a in assignments}
    reviewed = {a.pk for a in assignments if published_only and a.reviewed}
    extensions = extensions_by_student(by_id)
    rows = (Submission.objects.filter(assignment_id__in=list(by_id))
            .order_by("created_at", "id")
            .values_list("id", "assignment_id", "student_id", "created_at", "status", "score", "max_score",
                         "publication__score"))
    out: dict = {}
    for pk, assignment_id, student_id, created_at, status, score, max_score, published in rows:
        assignment = by_id[assignment_id]
        key = (assignment_id, student_id)
        current = out.get(key) or Standing(submitted=True)
        if assignment_id in reviewed:
            score = published
        if status != Submission.GRADED or score is None:
            if current.submission_id is None:
                current = Standing(submitted=True, status=status, submitted_at=created_at)
            out[key] = current
            continue
        due = assignment.due_for(extensions.get(key))
        days = assignment.late_days(created_at, due)
        candidate = Standing(submission_id=pk, score=assignment.penalised(score, days), raw_score=score,
                             max_score=max_score, late_days=days, submitted=True, status=status,
                             submitted_at=created_at)
        if (current.submission_id is None or assignment.counting == Assignment.COUNT_LATEST
                or candidate.score >= current.score):
            out[key] = candidate
    return out


def counting_submission_ids(assignment: Assignment, *, published_only: bool = False) -> list[int]:
    """The submission that counts of each student (reviewed assignments: graded, published or not, unless
    ``published_only``)."""
    return [s.submission_id for s in standings([assignment], published_only=published_only).values()
            if s.submission_id is not None]
