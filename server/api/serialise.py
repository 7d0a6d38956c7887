"""What a viewer may see of courses, assignments and submissions, as plain JSON-able dicts.

The same rules as the pages, through the same functions: a student's due date is their own
(grades.personal_due), hidden checks are hidden from students until it has passed
(visibility.student_report), a written submission's scores only once published.
"""
from django.conf import settings
from django.urls import reverse

from grader import kinds
from server.courses import grades
from server.courses.models import Enrolment
from server.notifications.services import absolute
from server.reviews import services as reviews
from server.submissions.models import Submission
from server.submissions.services import queue_estimate
from server.submissions.visibility import hides_for, student_report

# The keys of the CLI's JSON (manage.py grade --json); a stored report may hold more (timings).
REPORT_KEYS = ("assignment", "status", "score", "max_score", "checks", "curves", "output_tail", "notices", "error",
               "hidden_points")


def api_url(name: str, *args) -> str:
    return absolute(reverse(f"api:{name}", args=args))


def upload_rules(assignment, folder) -> dict:
    """The files an assignment takes: their extensions and the size limit (as the upload form says)."""
    kind = folder.kind if folder is not None else kinds.get("code")
    return {"kind": kind.name, "file_types": list(kind.extensions),
            "max_upload_bytes": kind.max_upload_bytes(folder, settings.BELLMAN_MAX_UPLOAD_BYTES)}


def assignment_data(assignment, *, user, role, folder, due, latest, standing, acceptance, now) -> dict:
    hide = hides_for(assignment, role=role, now=now, due=due)
    hidden = set(assignment.hidden_checks)
    counts = None
    if standing is not None and standing.submission_id is not None and not hide:
        counts = {"submission_id": standing.submission_id, "score": standing.score, "late_days": standing.late_days}
    return {
        "course": assignment.course.slug, "slug": assignment.slug, "title": assignment.title,
        "url": absolute(assignment.get_absolute_url()),
        "api_url": api_url("assignment_detail", assignment.course.slug, assignment.slug),
        "submit_url": api_url("submission_create", assignment.course.slug, assignment.slug),
        "opens_at": assignment.opens_at, "due_at": due, "class_due_at": assignment.due_at,
        "extended": due != assignment.due_at, "late_until": assignment.late_until,
        "closes_at": assignment.closes_at(due), "late_policy": assignment.late_policy,
        "late_penalty_percent": assignment.late_penalty_percent, "counting": assignment.counting,
        "is_open": assignment.is_open, "submission_limit": assignment.submission_limit,
        "limit_window_hours": assignment.limit_window_hours,
        **upload_rules(assignment, folder),
        "checks": [{"id": c.id, "title": c.title, "max_score": float(c.points), "hidden": c.id in hidden}
                   for c in (folder.checks if folder else ())],
        "can_submit": {"allowed": acceptance.allowed, "code": acceptance.code, "reason": acceptance.reason,
                       "next_allowed_at": acceptance.next_allowed_at, "used": acceptance.used},
        "hidden_results": hide,
        "latest_submission": None if latest is None else submission_summary(latest, role=role, folder=folder,
                                                                            hide=hide, due=due),
        "score_that_counts": counts,
    }


def course_assignments(course, *, user, role, folders: dict, now, only=None) -> list[dict]:
    """Every assignment of ``course`` (or only the one with slug ``only``) as ``user`` sees it."""
    assignments = [a for a in course.assignments.all() if only is None or a.slug == only]
    for a in assignments:
        a.course = course
    extensions = grades.extensions_by_student(a.pk for a in assignments)
    standing = grades.standings(assignments)
    latest = {}
    for sub in (Submission.objects.filter(assignment__in=assignments, student=user).select_related("publication")
                .order_by("created_at", "id")):
        latest[sub.assignment_id] = sub
    out = []
    for a in assignments:
        due = a.due_for(extensions.get((a.pk, user.pk))) if role not in Enrolment.STAFF else a.due_at
        out.append(assignment_data(a, user=user, role=role, folder=folders.get(a.slug), due=due,
                                   latest=latest.get(a.pk), standing=standing.get((a.pk, user.pk)),
                                   acceptance=grades.acceptance(a, user, now=now, role=role), now=now))
    return out


def visible_score(submission, *, role, folder, hide) -> dict:
    """``{"score", "max_score", "hidden_points"}`` as the viewer may see them: None until graded; a
    written submission's only once published (instructors: always)."""
    if folder is not None and folder.kind.reviewed:
        publication = getattr(submission, "publication", None)
        if publication is not None:
            return {"score": publication.score, "max_score": publication.max_score, "hidden_points": 0.0}
        if role in Enrolment.STAFF and submission.status == Submission.GRADED:
            return {"score": submission.score, "max_score": submission.max_score, "hidden_points": 0.0}
        return {"score": None, "max_score": None, "hidden_points": 0.0}
    if submission.status != Submission.GRADED:
        return {"score": None, "max_score": None, "hidden_points": 0.0}
    shown = student_report(submission.report, hidden=set(submission.assignment.hidden_checks), hide=hide)
    return {"score": shown.get("score", submission.score), "max_score": submission.max_score,
            "hidden_points": shown.get("hidden_points", 0.0)}


def submission_summary(submission, *, role, folder, hide, due) -> dict:
    """A submission in a list: ``hide`` and ``due`` are its student's (hidden checks hidden, due date)."""
    assignment = submission.assignment
    return {
        "id": submission.pk, "course": assignment.course.slug, "assignment": assignment.slug,
        "student": submission.student.get_username(), "filename": submission.filename,
        "created_at": submission.created_at, "status": submission.status, "phase": submission.phase,
        "late": assignment.is_late(submission.created_at, due),
        **visible_score(submission, role=role, folder=folder, hide=hide),
        "url": absolute(submission.get_absolute_url()), "api_url": api_url("submission_detail", submission.pk),
    }


def submission_detail(submission, *, role, folder, now) -> dict:
    """The summary, where it waits in the queue, the grader's error, and the report as the viewer may
    see it (the CLI's JSON, hidden checks hidden)."""
    due = grades.personal_due(submission.assignment, submission.student)
    hide = hides_for(submission.assignment, role=role, now=now, due=due)
    return {
        **submission_summary(submission, role=role, folder=folder, hide=hide, due=due),
        "hidden_results": hide,
        "queue": queue_estimate(submission, now=now) if submission.status == Submission.QUEUED else None,
        "error": submission.error if submission.status == Submission.ERROR else "",
        "report": report_for(submission, role=role, folder=folder, hide=hide),
    }


def report_for(submission, *, role, folder, hide) -> dict | None:
    """The stored report (the CLI's JSON) through the results page's filter; None before any part of it
    is stored. A written submission's student sees its checks once the scores are published."""
    if not submission.report:
        return None
    shown = student_report(submission.report, hidden=set(submission.assignment.hidden_checks), hide=hide,
                           staff=role in Enrolment.STAFF)
    shown = {k: v for k, v in shown.items() if k in REPORT_KEYS}
    if folder is not None and folder.kind.reviewed:
        publication = getattr(submission, "publication", None)
        shown["published"] = publication is not None
        if publication is None and role not in Enrolment.STAFF:
            shown.update(score=None, max_score=None, checks=[])
        elif publication is not None:
            shown.update(score=publication.score, max_score=publication.max_score, checks=[
                {"id": row["check"].check_id, "status": row["check"].status, "score": row["score"],
                 "max_score": row["check"].max_score, "feedback": row["check"].feedback, "comment": row["comment"]}
                for row in reviews.final_checks(submission)])
    return shown


def _standing(standing) -> dict:
    if standing is None:
        return {"submission_id": None, "score": None, "raw_score": None, "max_score": None, "late_days": 0,
                "status": "", "submitted_at": None}
    return {"submission_id": standing.submission_id, "score": standing.score, "raw_score": standing.raw_score,
            "max_score": standing.max_score, "late_days": standing.late_days, "status": standing.status,
            "submitted_at": standing.submitted_at}


def _student(row) -> dict:
    return {k: row[k] for k in ("username", "email", "first_name", "last_name")}


def dashboard_data(data: dict) -> dict:
    """stats.assignment_dashboard's numbers with every row reduced to plain fields."""
    plain = {k: data[k] for k in ("enrolled", "submitted", "graded", "on_time", "late", "mean", "median", "max_score",
                                  "histogram", "curve", "threshold", "metric_histogram", "per_hour")}
    checks = {}
    for check_id, entry in data["checks"].items():
        checks[check_id] = {"passed": entry["passed"], "total": entry["total"], "rate": entry["rate"],
                            "threshold": entry["threshold"], "values": entry["values"],
                            "mistakes": entry["mistake_list"]}
    health = dict(data["health"])
    health["errors"] = [{"reason": reason, "count": n} for reason, n in health["errors"]]
    return {
        **plain, "checks": checks, "health": health,
        "missing": [_student(row) for row in data["missing"]],
        "flagged": [{**row, "url": absolute(row["url"]), "api_url": api_url("submission_detail", row["submission_id"])}
                    for row in data["flagged"]],
        "regrades": [{"id": r["regrade"].pk, "created_at": r["regrade"].created_at, "scope": r["regrade"].scope,
                      "requested_by": r["regrade"].requested_by.get_username(), "total": r["total"], "done": r["done"],
                      "changed": [{"submission_id": item.submission_id,
                                   "student": item.submission.student.get_username(),
                                   "score_before": item.score_before, "score_after": item.score_after,
                                   "status_before": item.status_before, "status_after": item.status_after}
                                  for item in r["changed"]]}
                     for r in data["regrades"]],
        "students": [{**_student(row), "submissions": row["submissions"], **_standing(row["standing"])}
                     for row in data["rows"]],
    }
