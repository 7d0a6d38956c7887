"""What an instructor reads about a class: statistics over every student's counting submission.

Each function reads a whole class in a fixed number of queries (the tests count them), then works
on plain arrays. The class curve's 95% band comes from ``scipy.stats.bootstrap`` (percentile, 500
resamples), resampling students, since the runs of one student are not independent of each other.
"""
from collections import Counter, defaultdict
from datetime import timedelta

import numpy as np
from django.db.models import Count
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone
from scipy import stats as sps

from grader.scoring import iqm
from server.courses import grades
from server.courses.models import Enrolment
from server.submissions.models import CheckResult, GradingRun, Regrade, RegradeItem, Submission

LEARNING_CURVE = "learning_curve"


def class_curve(summaries: list[dict], *, seed: int = 0, resamples: int = 500) -> dict | None:
    """IQM across students of each student's mean curve, with a bootstrap 95% band.

    ``summaries``: each ``{"step": int, "mean": [block means], ...}`` (Submission.curve_summary).
    Returns ``{"episodes": (bins,), "iqm": (bins,), "low": (bins,), "high": (bins,), "students": n}``.
    A student whose runs stopped early holds their last value.
    """
    summaries = [s for s in summaries if s and s.get("mean")]
    if not summaries:
        return None
    step = Counter(s["step"] for s in summaries).most_common(1)[0][0]
    curves = [s["mean"] for s in summaries if s["step"] == step]
    width = max(len(c) for c in curves)
    per_student = np.array([_pad(c, width) for c in curves]).T  # (bins, students): resampled along the last axis
    centre = iqm(per_student, axis=-1)
    if per_student.shape[1] > 2:
        ci = sps.bootstrap((per_student,), iqm, axis=-1, vectorized=True, n_resamples=resamples, batch=20,
                           method="percentile", rng=np.random.default_rng(seed)).confidence_interval
        low, high = ci.low, ci.high
    else:
        low, high = per_student.min(axis=-1), per_student.max(axis=-1)
    return {"episodes": [(i + 1) * step for i in range(width)], "iqm": _round(centre), "low": _round(low),
            "high": _round(high), "students": per_student.shape[1]}


def _pad(run, width):
    return list(run) + [run[-1]] * (width - len(run))


def _round(values):
    return [round(float(v), 1) for v in np.nan_to_num(values)]


def histogram(values, *, low: float, high: float, bins: int = 10) -> dict:
    """Counts of ``values`` in ``bins`` equal bins over [low, high]: ``{"labels", "counts"}``."""
    if high <= low:
        high = low + 1
    counts, edges = np.histogram(np.clip(values, low, high), bins=bins, range=(low, high))
    return {"labels": [f"{edges[i]:g}–{edges[i + 1]:g}" for i in range(bins)], "counts": counts.tolist()}


def _percentiles(seconds) -> dict:
    if not seconds:
        return {"p50": None, "p95": None, "n": 0}
    p50, p95 = np.percentile(seconds, [50, 95])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1), "n": len(seconds)}


def roster(course) -> list[dict]:
    """The course's students: ``[{id, username, name, email}]``, ordered by username; the LMS's test student (a
    preview enrolment) is not one of them."""
    rows = (course.enrolments.filter(role=Enrolment.STUDENT, preview=False).order_by("user__username")
            .values_list("user_id", "user__username", "user__first_name", "user__last_name", "user__email"))
    return [{"id": pk, "username": u, "first_name": f, "last_name": la, "email": e,
             "name": f"{f} {la}".strip()} for pk, u, f, la, e in rows]


def assignment_dashboard(assignment, *, folder=None, now=None) -> dict:
    """Everything the assignment's dashboard shows."""
    now = now or timezone.now()
    students = roster(assignment.course)
    student_ids = {s["id"] for s in students}
    standing = {sid: s for (_, sid), s in grades.standings([assignment]).items()}
    counting = {sid: s.submission_id for sid, s in standing.items() if s.submission_id and sid in student_ids}
    counts = dict(assignment.submissions.values_list("student_id").annotate(n=Count("id")).values_list(
        "student_id", "n"))
    max_score = max((s.max_score for s in standing.values() if s.max_score), default=None) or (
        folder.max_score if folder else 100.0)
    scores = [standing[sid].score for sid in counting]
    rows = []
    for student in students:
        s = standing.get(student["id"])
        rows.append({**student, "standing": s, "submissions": counts.get(student["id"], 0)})
    checks = _checks(assignment, counting, folder)
    curve_rows = Submission.objects.filter(pk__in=list(counting.values())).values_list("curve_summary", flat=True)
    return {
        "enrolled": len(students),
        "submitted": sum(1 for sid in student_ids if sid in standing),
        "graded": len(counting),
        "on_time": sum(1 for sid in counting if not standing[sid].late_days),
        "late": sum(1 for sid in counting if standing[sid].late_days),
        "missing": [r for r in rows if r["submissions"] == 0],
        "mean": round(float(np.mean(scores)), 2) if scores else None,
        "median": round(float(np.median(scores)), 2) if scores else None,
        "max_score": max_score,
        "histogram": histogram(scores, low=0, high=max_score),
        "checks": checks,
        "curve": class_curve(list(curve_rows)),
        "threshold": checks.get(LEARNING_CURVE, {}).get("threshold"),
        "metric_histogram": _metric_histogram(checks.get(LEARNING_CURVE, {}).get("values", [])),
        "per_hour": per_hour(assignment),
        "health": health(assignment, now=now),
        "regrades": regrades(assignment),
        "flagged": flagged(assignment),
        "rows": rows,
    }


def flagged(assignment, limit: int = 50) -> list[dict]:
    """Submissions whose learning curve the grader flagged for a person to look at (a policy at full credit
    before any learning, or one that did not train as its score says), newest first."""
    rows = (CheckResult.objects.filter(submission__assignment=assignment, details__has_key="flags")
            .order_by("-submission__created_at")
            .values_list("submission_id", "submission__student__username", "check_id", "details__flags")[:limit])
    return [{"submission_id": pk, "student": username, "check": check_id, "flags": flags or [],
             "url": reverse("submission", args=[pk])} for pk, username, check_id, flags in rows]


def _checks(assignment, counting: dict, folder) -> dict:
    """Per check: pass rate over counting submissions, and each named mistake with the number of
    students whose counting submission makes it and the number who ever made it."""
    counted_ids = set(counting.values())
    out: dict = {}
    order = [c.id for c in folder.checks] if folder else []
    for check_id in order:
        out[check_id] = {"id": check_id, "passed": 0, "total": 0, "mistakes": {}, "values": [], "threshold": None}
    ever: dict = defaultdict(set)
    now_: dict = defaultdict(set)
    for student_id, check_id, mistake in (CheckResult.objects.filter(submission__assignment=assignment)
                                          .exclude(mistake="")
                                          .values_list("submission__student_id", "check_id", "mistake")):
        ever[(check_id, mistake)].add(student_id)
    rows = (CheckResult.objects.filter(submission_id__in=list(counted_ids))
            .values_list("submission__student_id", "check_id", "status", "mistake", "details__value",
                         "details__threshold"))
    for student_id, check_id, status, mistake, value, threshold in rows:
        entry = out.setdefault(check_id, {"id": check_id, "passed": 0, "total": 0, "mistakes": {}, "values": [],
                                          "threshold": None})
        entry["total"] += 1
        entry["passed"] += status == "passed"
        if mistake:
            now_[(check_id, mistake)].add(student_id)
        if isinstance(value, (int, float)):
            entry["values"].append(float(value))
        if isinstance(threshold, (int, float)):
            entry["threshold"] = float(threshold)
    for (check_id, mistake), who in ever.items():
        out.setdefault(check_id, {"id": check_id, "passed": 0, "total": 0, "mistakes": {}, "values": [],
                                  "threshold": None})
        out[check_id]["mistakes"][mistake] = {"ever": len(who), "now": len(now_.get((check_id, mistake), ()))}
    for entry in out.values():
        entry["rate"] = entry["passed"] / entry["total"] if entry["total"] else None
        entry["mistake_list"] = sorted(({"id": k, **v} for k, v in entry["mistakes"].items()),
                                       key=lambda m: (-m["ever"], m["id"]))
    return out


def _metric_histogram(values) -> dict | None:
    if not values:
        return None
    return histogram(values, low=min(0.0, min(values)), high=max(values))


def per_hour(assignment) -> dict:
    """Submissions per hour (every hour from the first to the last), and the due date's hour."""
    rows = list(assignment.submissions.annotate(hour=TruncHour("created_at")).values("hour")
                .annotate(n=Count("id")).order_by("hour").values_list("hour", "n"))
    if not rows:
        return {"labels": [], "counts": [], "due_index": None}
    first, last = rows[0][0], rows[-1][0]
    if (last - first) > timedelta(days=21):
        first = last - timedelta(days=21)  # the last three weeks: the surge, not the whole term
    by_hour = dict(rows)
    hours, t = [], first
    while t <= last:
        hours.append(t)
        t += timedelta(hours=1)
    due = assignment.due_at
    due_index = next((i for i, h in enumerate(hours) if due and h <= due < h + timedelta(hours=1)), None)
    return {"labels": [timezone.localtime(h).strftime("%a %d %b %H:00") for h in hours],
            "counts": [by_hour.get(h, 0) for h in hours], "due_index": due_index}


def health(assignment, *, now) -> dict:
    """Grading now and over the last day: queued and running, wait and run times, errors by reason."""
    states = dict(assignment.submissions.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    since = now - timedelta(days=1)
    runs = GradingRun.objects.filter(submission__assignment=assignment, started_at__gte=since,
                                     finished_at__isnull=False).values_list(
        "started_at", "finished_at", "submission__created_at", "attempt", "regrade_id")
    waits = [(s - c).total_seconds() for s, f, c, attempt, regrade in runs if attempt == 1 and regrade is None]
    durations = [(f - s).total_seconds() for s, f, c, attempt, regrade in runs]
    errors = Counter()
    for error in (assignment.submissions.filter(status=Submission.ERROR, status_changed_at__gte=since)
                  .values_list("error", flat=True)):
        errors[(error or "no reason recorded").strip().splitlines()[0][:200]] += 1
    return {"queued": states.get(Submission.QUEUED, 0) + states.get(Submission.RECEIVED, 0),
            "running": states.get(Submission.RUNNING, 0), "wait": _percentiles(waits),
            "run": _percentiles(durations), "errors": errors.most_common(10)}


def regrades(assignment, limit: int = 5) -> list[dict]:
    """The latest regrades: progress, and every score that changed (before -> after)."""
    out = []
    for regrade in Regrade.objects.filter(assignment=assignment).select_related("requested_by")[:limit]:
        out.append({"regrade": regrade, "total": 0, "done": 0, "changed": []})
    by_id = {r["regrade"].pk: r for r in out}
    items = (RegradeItem.objects.filter(regrade_id__in=list(by_id))
             .select_related("submission__student").order_by("submission__student__username"))
    for item in items:
        entry = by_id[item.regrade_id]
        entry["total"] += 1
        entry["done"] += item.finished_at is not None
        if item.changed:
            entry["changed"].append(item)
    return out


def course_overview(course, *, folders: dict) -> list[dict]:
    """One line per assignment: submitted / enrolled, graded, late, mean and median, queued, errors."""
    assignments = list(course.assignments.all())
    counted = course.enrolments.filter(role=Enrolment.STUDENT, preview=False)
    enrolled = counted.count()
    student_ids = set(counted.values_list("user_id", flat=True))
    standing = grades.standings(assignments)
    states = defaultdict(Counter)
    for assignment_id, status, n in (Submission.objects.filter(assignment__course=course)
                                     .values_list("assignment_id", "status").annotate(n=Count("id"))):
        states[assignment_id][status] = n
    lines = []
    for a in assignments:
        mine = [s for (aid, sid), s in standing.items() if aid == a.pk and sid in student_ids]
        scores = [s.score for s in mine if s.submission_id]
        lines.append({"assignment": a, "enrolled": enrolled, "submitted": len(mine), "graded": len(scores),
                      "late": sum(1 for s in mine if s.late_days), "mean": _maybe(np.mean, scores),
                      "median": _maybe(np.median, scores),
                      "pending": sum(states[a.pk][k] for k in Submission.PENDING),
                      "errors": states[a.pk][Submission.ERROR]})
    return lines


def _maybe(fn, values):
    return round(float(fn(values)), 2) if values else None
