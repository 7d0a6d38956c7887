"""Submissions as the worker leaves them, written straight to the database: for tests of what is
computed from many graded submissions (standings, dashboards, gradebooks), not of grading itself."""
from datetime import datetime

from django.contrib.auth import get_user_model

from server.courses.models import Enrolment
from server.submissions.models import CheckResult, Submission
from server.submissions.services import curve_summary


def student(course, username, **fields):
    fields.setdefault("email", f"{username}@uni.example")
    user = get_user_model().objects.create_user(username=username, password=f"pw-{username}-123", **fields)
    Enrolment.objects.create(course=course, user=user, role=Enrolment.STUDENT)
    return user


def graded(assignment, who, *, score: float, at: datetime, checks=(), curves=None, status="graded",
           error="", max_score=100.0) -> Submission:
    """A submission graded at ``score``; ``checks``: (check_id, status, score, max_score, details)."""
    report = {"assignment": assignment.slug, "status": status, "score": score, "max_score": max_score,
              "checks": [{"id": c, "status": s, "score": p, "max_score": m, "feedback": f"{c} {s}", "details": d}
                         for c, s, p, m, d in checks], "curves": curves or [], "output_tail": ""}
    submission = Submission.objects.create(
        assignment=assignment, student=who, filename="solution.py", original=b"x = 1\n", source="x = 1\n",
        status=status, score=score if status == "graded" else None, max_score=max_score, report=report,
        error=error, curve_summary=curve_summary(curves or []))
    CheckResult.objects.bulk_create([CheckResult(submission=submission, check_id=c, status=s, score=p, max_score=m,
                                                 feedback=f"{c} {s}", details=d, mistake=d.get("mistake", ""))
                                     for c, s, p, m, d in checks])
    Submission.objects.filter(pk=submission.pk).update(created_at=at)
    submission.refresh_from_db()
    return submission
