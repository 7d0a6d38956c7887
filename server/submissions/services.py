"""Submission workflows: create, grade, and the configuration they share."""
import logging
import math
import platform
from datetime import timedelta

import numpy as np

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from grader import assignments, pipeline
from grader.errors import AssignmentError, InfrastructureError, SubmissionRejected
from grader.normalise import to_source
from grader.report import ERROR
from sandbox import get_backend
from server.courses import grades
from server.courses.models import Assignment
from server.notifications import events
from server.submissions.models import CheckResult, GradingRun, Regrade, RegradeItem, Submission

log = logging.getLogger(__name__)

# Redis serves lower numbers first (settings.CELERY_BROKER_TRANSPORT_OPTIONS): a regrade of a whole
# class never delays a student who submits now.
PRIORITY_NEW, PRIORITY_REGRADE = 0, 6
CURVE_POINTS = 60


class RegradeError(ValueError):
    """A regrade that cannot be done as asked (nothing to regrade, a submission still grading)."""


def grading_config(*, backend: str | None = None) -> pipeline.GradingConfig:
    """The pipeline's configuration from settings; ``backend`` overrides SANDBOX_BACKEND."""
    try:
        chosen = get_backend(backend or settings.SANDBOX_BACKEND, image=settings.SANDBOX_IMAGE,
                             rootfs=settings.SANDBOX_ROOTFS, runtime=settings.SANDBOX_RUNTIME)
    except Exception as exc:  # noqa: BLE001 - any failure to pick a backend is the machine's fault
        raise InfrastructureError(str(exc)) from exc
    return pipeline.GradingConfig(backend=chosen, max_upload_bytes=settings.BELLMAN_MAX_UPLOAD_BYTES,
                                  parallel_runs=settings.GRADER_PARALLEL_RUNS, tmp_root=settings.SANDBOX_TMP_DIR)


def file_grade(*, slug: str, filename: str, data: bytes, backend: str | None = None, only=()):
    """Grade a file outside the database (the ``grade`` command); returns the Report."""
    assignment = assignments.get(slug, settings.BELLMAN_ASSIGNMENTS_DIR)
    return pipeline.grade(assignment, filename, data, grading_config(backend=backend), only=only)


@transaction.atomic
def submission_create(*, assignment: Assignment, student, filename: str, data: bytes, now=None,
                      role: str | None = None) -> Submission:
    """Store an upload and queue it for grading once the transaction commits.

    Raises SubmissionRejected (nothing stored) when the file cannot be graded as it is, or when the
    assignment's rules (dates, submission limit) refuse it at ``now``.
    """
    verdict = grades.acceptance(assignment, student, now=now or timezone.now(), role=role)
    if not verdict.allowed:
        raise SubmissionRejected(verdict.reason)
    try:
        folder = assignments.get(assignment.slug, settings.BELLMAN_ASSIGNMENTS_DIR)
    except AssignmentError:
        folder = None  # graded (and reported as the grader's fault) like any other submission
    if folder is not None and folder.is_written:
        from server.submissions import written

        source, _answers = written.read(folder, filename, data)
    else:
        source, _notices = to_source(filename, data, max_bytes=settings.BELLMAN_MAX_UPLOAD_BYTES)
    submission = Submission.objects.create(assignment=assignment, student=student, filename=filename,
                                           original=data, source=source)
    submission_enqueue(submission=submission)
    return submission


def submission_enqueue(*, submission: Submission, priority: int = PRIORITY_NEW) -> None:
    from grader.tasks import grade_submission

    _move(submission, Submission.QUEUED)
    transaction.on_commit(lambda: grade_submission.apply_async((submission.pk,), priority=priority))


@transaction.atomic
def regrade_request(*, assignment: Assignment, by, submission: Submission | None = None) -> Regrade:
    """Grade again one submission, or every submission that counts (and each student's latest failed
    one when nothing of theirs counts), at a lower priority than new submissions. The earlier reports
    stay in the grading runs' history; each item records the score before and after."""
    if submission is not None:
        if submission.assignment_id != assignment.pk:
            raise RegradeError("That submission belongs to another assignment.")
        if submission.is_pending:
            raise RegradeError(f"Submission {submission.pk} is still being graded; regrade it once it is done.")
        targets, scope = [submission], f"submission {submission.pk}"
    else:
        ids = set(grades.counting_submission_ids(assignment))
        ids |= _latest_failed_without_counting(assignment, ids)
        targets = list(Submission.objects.filter(pk__in=ids).select_for_update().order_by("pk"))
        targets = [t for t in targets if not t.is_pending]
        scope = "every counting submission"
        if not targets:
            raise RegradeError("There is nothing to regrade: no student of this assignment has a graded "
                               "submission yet.")
    regrade = Regrade.objects.create(assignment=assignment, requested_by=by, scope=scope)
    RegradeItem.objects.bulk_create([RegradeItem(regrade=regrade, submission=t, score_before=t.score,
                                                 status_before=t.status) for t in targets])
    for target in targets:
        submission_enqueue(submission=target, priority=PRIORITY_REGRADE)
    return regrade


def _latest_failed_without_counting(assignment: Assignment, counting: set) -> set:
    counted_students = set(Submission.objects.filter(pk__in=counting).values_list("student_id", flat=True))
    latest = {}
    for pk, student_id, status in (assignment.submissions.order_by("created_at", "id")
                                   .values_list("id", "student_id", "status")):
        latest[student_id] = (pk, status)
    return {pk for student_id, (pk, status) in latest.items()
            if status == Submission.ERROR and student_id not in counted_students}


def curve_summary(curves: list[dict], points: int = CURVE_POINTS) -> dict | None:
    """The runs' returns averaged over blocks of ``step`` episodes, and their mean across runs (a run
    that stopped early holding its last value), so that a class's curves can be read without each
    report: ``{"step": int, "runs": [[mean return of block 0, ...], ...], "mean": [...]}``."""
    series = [np.asarray(c.get("episode_returns", []), dtype=float) for c in curves]
    series = [s for s in series if len(s)]
    if not series:
        return None
    step = max(1, math.ceil(max(len(s) for s in series) / points))
    runs = [[round(float(s[i:i + step].mean()), 2) for i in range(0, len(s), step)] for s in series]
    width = max(len(r) for r in runs)
    mean = np.mean([r + [r[-1]] * (width - len(r)) for r in runs], axis=0)
    return {"step": step, "runs": runs, "mean": [round(float(v), 2) for v in mean]}


def _move(submission: Submission, status: str, **fields) -> None:
    if not submission.can_move_to(status):
        raise ValueError(f"submission {submission.pk} cannot go from {submission.status} to {status}")
    submission.status = status
    for name, value in fields.items():
        setattr(submission, name, value)
    submission.save()


def _claim(submission_id: int) -> bool:
    """Atomically take a queued submission (or one whose worker vanished) for grading."""
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    claimed = (Submission.objects.filter(pk=submission_id, status=Submission.QUEUED)
               .update(status=Submission.RUNNING, status_changed_at=timezone.now()))
    if not claimed:
        claimed = (Submission.objects.filter(pk=submission_id, status=Submission.RUNNING,
                                             status_changed_at__lt=stale)
                   .update(status=Submission.RUNNING, status_changed_at=timezone.now()))
    return bool(claimed)


def submission_grade(*, submission_id: int, attempt: int = 1, final_attempt: bool = True, worker: str = "") -> str:
    """Grade one submission and persist its report. Idempotent: a submission not waiting is left alone.

    Returns the submission's new status. Raises InfrastructureError when the machine failed
    and another attempt should be made (the submission goes back to 'queued').
    """
    if not _claim(submission_id):
        return Submission.objects.filter(pk=submission_id).values_list("status", flat=True).first() or "missing"
    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    pending = submission.regrade_items.filter(finished_at=None).order_by("-id").first()
    run = GradingRun.objects.create(submission=submission, attempt=attempt, worker=worker or platform.node(),
                                    versions={"python": platform.python_version()},
                                    regrade_id=pending.regrade_id if pending else None)
    try:
        config = grading_config()
        run.backend = config.backend.name
        folder = assignments.get(submission.assignment.slug, settings.BELLMAN_ASSIGNMENTS_DIR)
        report = pipeline.grade(folder, submission.filename, bytes(submission.original), config)
    except (InfrastructureError, AssignmentError) as exc:
        return _grading_failed(submission, run, exc, final=final_attempt or isinstance(exc, AssignmentError))
    _persist(submission, run, report)
    if folder.is_written and submission.status == Submission.GRADED:
        from server.submissions import written

        written.answers_store(submission, folder)
    return submission.status


@transaction.atomic
def _persist(submission: Submission, run: GradingRun, report) -> None:
    data = report.to_dict()
    submission.check_results.all().delete()
    CheckResult.objects.bulk_create([
        CheckResult(submission=submission, check_id=c.id, status=c.status, score=c.score,
                    max_score=c.max_score, feedback=c.feedback, details=c.details,
                    mistake=str(c.details.get("mistake") or "")[:100]) for c in report.checks])
    status = Submission.ERROR if report.status == ERROR else Submission.GRADED
    _move(submission, status, report=data, score=report.score, max_score=report.max_score, error=report.error,
          curve_summary=curve_summary(data.get("curves", [])))
    run.finished_at = timezone.now()
    run.outcome = status
    run.timings = getattr(report, "timings", {})
    run.score, run.report = report.score, data
    run.save()
    _regrade_items_finish(submission)
    events.graded_notify(submission, run)


def _regrade_items_finish(submission: Submission) -> None:
    submission.regrade_items.filter(finished_at=None).update(
        score_after=submission.score if submission.status == Submission.GRADED else None,
        status_after=submission.status, finished_at=timezone.now())


def _grading_failed(submission: Submission, run: GradingRun, exc: Exception, *, final: bool) -> str:
    run.finished_at = timezone.now()
    run.message = str(exc)
    if final:
        run.outcome = Submission.ERROR
        run.save()
        _move(submission, Submission.ERROR,
              error=f"The grader could not finish (not a problem with your file): {exc}. "
                    "Your submission is kept; staff have been told and can regrade it.")
        _regrade_items_finish(submission)
        events.graded_notify(submission, run)
        log.error("grading submission %s failed for good: %s", submission.pk, exc)
        return submission.status
    run.outcome = "retry"
    run.save()
    _move(submission, Submission.QUEUED)
    raise InfrastructureError(str(exc))
