"""Which e-mails an event makes: each function renders its message into the outbox, in the caller's
transaction, keyed by the event so that it is made once."""
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from grader import assignments
from server.courses import grades
from server.courses.models import Assignment, Course, Enrolment
from server.notifications.models import Message
from server.notifications.services import absolute, message_create
from server.submissions.models import Submission
from server.submissions.visibility import hides_for, student_report

FEEDBACK_LINES = 4
REMINDER_AHEAD = timedelta(hours=24)


def graded_notify(submission, run) -> Message | None:
    """The student's e-mail for a finished grading run: the result, or what went wrong."""
    if submission.status == Submission.ERROR:
        return message_create(key=f"grading_error:{submission.pk}:{run.pk}", kind=Message.GRADING_ERROR,
                              user=submission.student, course=submission.assignment.course, submission=submission,
                              template_context=_submission_context(submission))
    if submission.status != Submission.GRADED or submission.assignment.reviewed:
        return None  # reviewed scores (written answers) are e-mailed when the instructor publishes them
    context = _submission_context(submission)
    assignment = submission.assignment
    due = grades.personal_due(assignment, submission.student)
    report = student_report(submission.report, hidden=set(assignment.hidden_checks),
                            hide=hides_for(assignment, role=Enrolment.STUDENT, now=timezone.now(), due=due))
    checks = []
    for check in report.get("checks", []):
        lines = (check.get("feedback") or "").strip().splitlines()
        checks.append({**check, "lines": lines[:FEEDBACK_LINES], "more": len(lines) > FEEDBACK_LINES,
                       "curve": _curve_words(check)})
    context |= {"report": report, "checks": checks, "due": due}
    return message_create(key=f"graded:{submission.pk}:{run.pk}", kind=Message.GRADED, user=submission.student,
                          course=assignment.course, submission=submission, template_context=context)


def reviewed_slugs() -> set:
    """The assignments whose scores an instructor reviews and publishes."""
    return {slug for slug, folder in assignments.registry(settings.BELLMAN_ASSIGNMENTS_DIR).items()
            if folder.kind.reviewed}


def _submission_context(submission) -> dict:
    return {"submission": submission, "assignment": submission.assignment, "course": submission.assignment.course,
            "url": absolute(submission.get_absolute_url())}


def _curve_words(check: dict) -> str:
    details = check.get("details") or {}
    if "value" not in details or "threshold" not in details:
        return ""
    words = f"{details.get('metric') or 'learning-curve metric'}: {details['value']:g}, against a threshold of " \
            f"{details['threshold']:g}"
    if details.get("ci95"):
        low, high = details["ci95"]
        words += f" (95% interval {low:g} to {high:g})"
    return words + "."


def published_notify(submission, publication, rows: list[dict]) -> Message | None:
    """The student's e-mail when the instructor publishes their written answers' scores (``rows``: each
    check with its final score and comment)."""
    context = _submission_context(submission) | {"publication": publication, "rows": rows}
    stamp = int(publication.published_at.timestamp())
    return message_create(key=f"published:{submission.pk}:{stamp}", kind=Message.PUBLISHED, user=submission.student,
                          course=submission.assignment.course, submission=submission, template_context=context)


def invitation_notify(*, user, course, link_path: str) -> Message | None:
    return message_create(key=f"invitation:{user.pk}:{course.pk}", kind=Message.INVITATION, user=user, course=course,
                          template_context={"course": course, "link": absolute(link_path),
                                            "username": user.get_username()})


def reminders_create(*, now) -> int:
    """Reminders for every due date that falls within the next 24 hours: to enrolled students without a
    submission and, where the assignment asks for it, to those whose latest submission is below full marks.
    Keyed by the due date, so that each student gets one per due date however often this runs."""
    made = 0
    candidates = (Assignment.objects.filter(is_open=True)
                  .filter(Q(remind_missing=True) | Q(remind_below_full=True))
                  .select_related("course"))
    for assignment in candidates:
        extensions = grades.extensions_by_student([assignment.pk])
        latest = {}
        for student_id, status, report in (assignment.submissions.order_by("created_at", "id")
                                           .values_list("student_id", "status", "report")):
            latest[student_id] = (status, report)
        for enrolment in assignment.course.enrolments.filter(role=Enrolment.STUDENT).select_related("user"):
            student = enrolment.user
            due = assignment.due_for(extensions.get((assignment.pk, student.pk)))
            if due is None or not (now < due <= now + REMINDER_AHEAD):
                continue
            status, report = latest.get(student.pk, (None, None))
            score = max_score = None
            if status == Submission.GRADED and report:
                # What the student may see now: a failed hidden check must not show in the score, nor
                # in whether a reminder is sent.
                shown = student_report(report, hidden=set(assignment.hidden_checks),
                                       hide=hides_for(assignment, role=Enrolment.STUDENT, now=now, due=due))
                score = shown.get("score")
                max_score = (report.get("max_score") or 0) - shown.get("hidden_points", 0)
            if status is None and assignment.remind_missing:
                reason = "missing"
            elif (assignment.remind_below_full and status == Submission.GRADED and score is not None
                  and max_score and score < max_score):
                reason = "below_full"
            else:
                continue
            context = {"assignment": assignment, "course": assignment.course, "due": due, "reason": reason,
                       "score": score, "max_score": max_score, "url": absolute(assignment.get_absolute_url())}
            made += bool(message_create(key=f"reminder:{assignment.pk}:{student.pk}:{int(due.timestamp())}",
                                        kind=Message.REMINDER, user=student, course=assignment.course,
                                        template_context=context))
    return made


def digests_create(*, now) -> int:
    """Each instructor's morning summary of each course they teach: the last day's submissions and
    errors, the written answers waiting for review, and who has not submitted for the next due date."""
    made = 0
    since = now - timedelta(days=1)
    for course in Course.objects.all():
        instructors = [e.user for e in course.enrolments.filter(role=Enrolment.INSTRUCTOR).select_related("user")]
        if not instructors:
            continue
        recent = Submission.objects.filter(assignment__course=course, created_at__gte=since)
        states = dict(recent.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        errors = list(recent.filter(status=Submission.ERROR).values_list("error", flat=True)[:5])
        waiting = Submission.objects.filter(assignment__course=course, assignment__slug__in=reviewed_slugs(),
                                            status=Submission.GRADED, publication=None).count()
        upcoming = course.assignments.filter(due_at__gt=now).order_by("due_at").first()
        missing = []
        if upcoming is not None:
            submitted = set(upcoming.submissions.values_list("student_id", flat=True))
            missing = sorted(e.user.get_username() for e in course.enrolments.filter(role=Enrolment.STUDENT)
                             .select_related("user") if e.user_id not in submitted)
        context = {"course": course, "since": since, "total": sum(states.values()), "states": states,
                   "errors": [(e or "").splitlines()[0][:200] for e in errors],
                   "error_count": states.get(Submission.ERROR, 0), "waiting": waiting, "upcoming": upcoming,
                   "missing": missing, "url": absolute(reverse("course", args=[course.slug]))}
        for instructor in instructors:
            made += bool(message_create(key=f"digest:{course.pk}:{instructor.pk}:{now.date().isoformat()}",
                                        kind=Message.DIGEST, user=instructor, course=course,
                                        template_context=context))
    return made
