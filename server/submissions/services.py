"""Submission workflows: create, grade, and the configuration they share."""
import logging
import platform
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from grader import assignments, pipeline
from grader.errors import AssignmentError, InfrastructureError
from grader.normalise import to_source
from grader.report import ERROR
from sandbox import get_backend
from server.courses.models import Assignment
from server.submissions.models import CheckResult, GradingRun, Submission

log = logging.getLogger(__name__)


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
def submission_create(*, assignment: Assignment, student, filename: str, data: bytes) -> Submission:
    """Store an upload and queue it for grading once the transaction commits.

    Raises SubmissionRejected (nothing stored) when the file cannot be graded as it is.
    """
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


def submission_enqueue(*, submission: Submission) -> None:
    from grader.tasks import grade_submission

    _move(submission, Submission.QUEUED)
    transaction.on_commit(lambda: grade_submission.delay(submission.pk))


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
    run = GradingRun.objects.create(submission=submission, attempt=attempt, worker=worker or platform.node(),
                                    versions={"python": platform.python_version()})
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
                    max_score=c.max_score, feedback=c.feedback, details=c.details) for c in report.checks])
    status = Submission.ERROR if report.status == ERROR else Submission.GRADED
    _move(submission, status, report=data, score=report.score, max_score=report.max_score, error=report.error)
    run.finished_at = timezone.now()
    run.outcome = status
    run.timings = getattr(report, "timings", {})
    run.save()


def _grading_failed(submission: Submission, run: GradingRun, exc: Exception, *, final: bool) -> str:
    run.finished_at = timezone.now()
    run.message = str(exc)
    if final:
        run.outcome = Submission.ERROR
        run.save()
        _move(submission, Submission.ERROR,
              error=f"The grader could not finish (not a problem with your file): {exc}. "
                    "Your submission is kept; staff have been told and can regrade it.")
        log.error("grading submission %s failed for good: %s", submission.pk, exc)
        return submission.status
    run.outcome = "retry"
    run.save()
    _move(submission, Submission.QUEUED)
    raise InfrastructureError(str(exc))
