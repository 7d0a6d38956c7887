"""One submission's grading, from claim to stored report, so that every delivery of its task ends in
one graded submission or a clear error, and nothing is graded twice over the top of another.

- claim: a conditional transition (queued, or running on a worker whose heartbeat stopped) that names
  the new grading run as the submission's current one;
- heartbeat: while the pipeline runs, the run's ``heartbeat_at`` moves every few seconds; the sweeper
  re-queues a running submission whose heartbeat stopped;
- persist: only the current run may store its report, so a stale worker that wakes up late changes
  nothing; every exception, the grader's own included, ends in a result.
"""
import logging
import platform
import threading
import time
import traceback
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from grader import pipeline
from grader.errors import AssignmentError, InfrastructureError
from grader.progress import Progress
from grader.report import ERROR, Report, merge
from sandbox import SandboxError
from server import metrics
from server.courses.signals import score_changed
from server.notifications import events
from server.reviews import services as reviews
from server.submissions.models import CheckResult, GradingRun, Submission, transition
from server.submissions.services import curve_summary, grading_config, train_send

log = logging.getLogger(__name__)

MAX_LOST_RUNS = 5  # gradings of one submission that lost their worker before it ends in error
INTERNAL_ERROR = ("The grader hit an internal error while grading this submission (not a problem with your "
                  "file). Your submission is kept; staff have the details and can regrade it.")


def heartbeat_seconds() -> float:
    return settings.BELLMAN_HEARTBEAT_SECONDS


def stale_after() -> timedelta:
    """A run whose heartbeat is older than this has lost its worker."""
    return timedelta(seconds=6 * heartbeat_seconds())


def submission_grade(*, submission_id: int, final_attempt: bool = True, worker: str = "") -> str:
    """Grade one submission's unit checks (queue ``celery``, seconds) and store them at once; when the
    assignment has training checks, hand the submission to the trainers (queue ``training``), else
    store the whole report. A submission not waiting is left alone.

    Returns the submission's status. Raises InfrastructureError when the machine failed and another
    attempt should be made (the submission goes back to 'queued').
    """
    run = claim(submission_id, worker=worker)
    if run is None:
        return _status(submission_id)
    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    training = []
    try:
        with heartbeat(run):
            config = grading_config(hidden=submission.assignment.hidden_checks)
            run.backend = config.backend.name
            folder = submission.assignment.folder(strict=True)
            training = folder.phase_checks("training")
            units = folder.phase_checks("units")
            if training and not units:  # straight to the trainers
                report = Report(assignment=folder.slug, max_score=0.0)
            else:
                report = pipeline.grade(folder, submission.filename, bytes(submission.original), config,
                                        only=units if training else ())
    except Exception as exc:  # noqa: BLE001 - sorted by _failed: the machine, the assignment, the grader
        return _failed(submission, run, exc, final_attempt)
    if training and report.status != ERROR:
        units_persist(submission, run, report)
        return _status(submission_id)
    if report_persist(submission, run, report) and folder.kind.reviewed and submission.status == Submission.GRADED:
        reviews.answers_store(submission, folder)
    return _status(submission_id)


def submission_train(*, submission_id: int, run_id: int, final_attempt: bool = True, worker: str = "") -> str:
    """The training checks of a submission whose unit checks are stored (queue ``training``, minutes),
    published as they train; then the whole report is stored."""
    run = training_claim(submission_id, run_id, worker=worker)
    if run is None:
        return _status(submission_id)
    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    try:
        with heartbeat(run, progress=(progress := Progress())):
            config = grading_config(progress=progress, hidden=submission.assignment.hidden_checks)
            folder = submission.assignment.folder(strict=True)
            report = pipeline.grade(folder, submission.filename, bytes(submission.original), config,
                                    only=folder.phase_checks("training"))
    except Exception as exc:  # noqa: BLE001 - sorted by _failed
        return _failed(submission, run, exc, final_attempt, phase=Submission.TRAINING_QUEUED)
    report_persist(submission, run, merge(submission.report, report))
    return _status(submission_id)


def _status(submission_id: int) -> str:
    return Submission.objects.filter(pk=submission_id).values_list("status", flat=True).first() or "missing"


def _failed(submission, run, exc: Exception, final_attempt: bool, *, phase: str = "") -> str:
    if isinstance(exc, InfrastructureError) and isinstance(exc.__cause__, SandboxError):
        metrics.count("sandbox_start_failures")
    if isinstance(exc, InfrastructureError):
        return grading_failed(submission, run, str(exc), final=final_attempt, retry_phase=phase)
    if isinstance(exc, AssignmentError):
        return grading_failed(submission, run, str(exc), final=True)
    log.error("grading submission %s raised", submission.pk, exc_info=exc)
    detail = "".join(traceback.format_exception(exc))
    return grading_failed(submission, run, f"{type(exc).__name__}: {exc}", final=True, staff_detail=detail,
                          student_reason=INTERNAL_ERROR)


def claim(submission_id: int, *, worker: str = "") -> GradingRun | None:
    """Take a queued submission (or one whose worker stopped heart-beating) and make a new grading run
    its current one; None when another worker has it or it is not waiting."""
    now = timezone.now()
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or not _claimable(submission, now):
            return None
        lost = submission.runs.filter(finished_at__isnull=True).count()  # gradings whose worker vanished
        if lost >= MAX_LOST_RUNS:
            _give_up_after_runs(submission, lost)
            return None
        run = GradingRun.objects.create(submission=submission, attempt=submission.runs.count() + 1,
                                        worker=worker or platform.node(), heartbeat_at=now,
                                        versions={"python": platform.python_version()},
                                        regrade_id=_open_regrade(submission))
        transition(Submission.objects.filter(pk=submission_id), Submission.RUNNING, current_run=run,
                   phase=Submission.UNITS, status_changed_at=now)
    return run


def training_claim(submission_id: int, run_id: int, *, worker: str = "") -> GradingRun | None:
    """Take a submission waiting for a trainer, if ``run_id`` is still its current grading."""
    now = timezone.now()
    with transaction.atomic():
        taken = Submission.objects.filter(pk=submission_id, status=Submission.RUNNING, current_run_id=run_id,
                                          phase=Submission.TRAINING_QUEUED).update(phase=Submission.TRAINING,
                                                                                   status_changed_at=now)
        if not taken:
            return None
        GradingRun.objects.filter(pk=run_id).update(heartbeat_at=now, worker=worker or platform.node())
    return GradingRun.objects.get(pk=run_id)


def _give_up_after_runs(submission: Submission, attempts: int) -> None:
    """A submission whose gradings keep losing their worker (killed each time) ends in error, not in a loop."""
    transition(submission, Submission.ERROR, phase="", error=(
        f"The grader started grading this submission {attempts} times and lost its worker each time (not a problem "
        "with your file as far as we can tell). Your submission is kept; staff have been told and can regrade it."))
    submission.regrade_items.filter(finished_at=None).update(status_after=Submission.ERROR, finished_at=timezone.now())
    log.error("submission %s: gave up after %d gradings lost their worker", submission.pk, attempts)


def _claimable(submission: Submission, now) -> bool:
    if submission.status == Submission.QUEUED:
        return True
    if submission.status != Submission.RUNNING or submission.phase == Submission.TRAINING_QUEUED:
        return False
    beat = GradingRun.objects.filter(pk=submission.current_run_id).values_list("heartbeat_at", flat=True).first()
    return beat is None or beat < now - stale_after()


def _open_regrade(submission: Submission):
    item = submission.regrade_items.filter(finished_at=None).order_by("-id").first()
    return item.regrade_id if item else None


@contextmanager
def heartbeat(run: GradingRun, *, progress: Progress | None = None):
    """Move ``run.heartbeat_at`` every few seconds from a thread while the block runs, and publish the
    training runs' returns so far (``progress``) on the run."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(heartbeat_seconds()):
                try:
                    live = {"live_curves": progress.snapshot()} if progress is not None else {}
                    GradingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), **live)
                except Exception as exc:  # noqa: BLE001 - a missed beat is retried at the next one
                    log.warning("heartbeat of run %s missed: %s", run.pk, exc)
                    connection.close()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{run.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _current(submission_id: int, run: GradingRun) -> Submission | None:
    """The submission, locked, if ``run`` is still its current grading; else None (superseded)."""
    current = Submission.objects.select_for_update().select_related("assignment").get(pk=submission_id)
    if current.current_run_id != run.pk or current.status != Submission.RUNNING:
        log.warning("run %s of submission %s was superseded; its result is dropped", run.pk, submission_id)
        GradingRun.objects.filter(pk=run.pk).update(outcome="superseded", finished_at=timezone.now())
        return None
    return current


def report_persist(submission: Submission, run: GradingRun, report, *, tries: int = 4) -> bool:
    """Store ``report`` as the result of ``run``; False (nothing stored) when ``run`` is no longer the
    submission's current grading. A database that is unavailable for a moment is waited for (1, 2, 4 s)
    rather than losing minutes of grading."""
    for attempt in range(tries):
        try:
            return _report_persist(submission, run, report)
        except (OperationalError, InterfaceError) as exc:
            if attempt == tries - 1:
                raise InfrastructureError(f"the database was unavailable when the report was stored: {exc}") from exc
            log.warning("storing the report of submission %s failed (%s); trying again", submission.pk, exc)
            connection.close()
            time.sleep(2 ** attempt)
    return False


@transaction.atomic
def units_persist(submission: Submission, run: GradingRun, report) -> bool:
    """Store the unit checks' results (shown at once) and hand the submission to the trainers."""
    current = _current(submission.pk, run)
    if current is None:
        return False
    data = report.to_dict() | {"timings": report.timings}
    _results_store(current, report)
    current.report, current.score, current.phase = data, report.score, Submission.TRAINING_QUEUED
    current.save(update_fields=["report", "score", "phase", "status_changed_at"])
    GradingRun.objects.filter(pk=run.pk).update(timings=data["timings"], backend=run.backend)
    transaction.on_commit(lambda: train_send(submission.pk, run.pk))
    submission.refresh_from_db()
    return True


def _results_store(current: Submission, report, *, keep=()) -> None:
    current.check_results.exclude(check_id__in=list(keep)).delete()
    CheckResult.objects.bulk_create([
        CheckResult(submission=current, check_id=c.id, status=c.status, score=c.score, max_score=c.max_score,
                    feedback=c.feedback, details=c.details, mistake=str(c.details.get("mistake") or "")[:100])
        for c in report.checks if c.id not in keep])


@transaction.atomic
def _report_persist(submission: Submission, run: GradingRun, report) -> bool:
    current = _current(submission.pk, run)
    if current is None:
        return False
    data = report.to_dict()
    _results_store(current, report)
    status = Submission.ERROR if report.status == ERROR else Submission.GRADED
    _finish(current, run, status, report=data, score=report.score, max_score=report.max_score, error=report.error,
            curve_summary=curve_summary(data.get("curves", [])))
    run.timings = report.timings
    run.score, run.report = report.score, data
    run.save(update_fields=["timings", "score", "report", "backend"])
    events.graded_notify(current, run)
    assignment, student = current.assignment, current.student
    transaction.on_commit(lambda: score_changed.send(Submission, assignment=assignment, student=student))
    submission.refresh_from_db()
    return True


def grading_failed(submission: Submission, run: GradingRun, reason: str, *, final: bool, staff_detail: str = "",
                   student_reason: str = "", retry_phase: str = "") -> str:
    """Record a grading that could not finish: for good (the submission ends in 'error' with a reason the
    student can read, the detail for staff on the run), or for another attempt (back to 'queued', or
    back to waiting for a trainer with ``retry_phase``; raises InfrastructureError so that the task is
    retried)."""
    with transaction.atomic():
        current = _current(submission.pk, run)
        if current is None:
            return Submission.objects.filter(pk=submission.pk).values_list("status", flat=True).first()
        run.message = (reason + ("\n\n" + staff_detail if staff_detail else ""))[:20000]
        run.save(update_fields=["message", "backend"])
        if final:
            _finish(current, run, Submission.ERROR, error=student_reason or (
                f"The grader could not finish (not a problem with your file): {reason}. "
                "Your submission is kept; staff have been told and can regrade it."))
            events.graded_notify(current, run)
            log.error("grading submission %s failed for good: %s", submission.pk, reason)
        elif retry_phase:
            Submission.objects.filter(pk=submission.pk).update(phase=retry_phase, status_changed_at=timezone.now())
        else:
            GradingRun.objects.filter(pk=run.pk).update(outcome="retry", finished_at=timezone.now())
            transition(Submission.objects.filter(pk=submission.pk), Submission.QUEUED, phase="")
    submission.refresh_from_db()
    if not final:
        raise InfrastructureError(reason)
    return submission.status


def _finish(current: Submission, run: GradingRun, status: str, **fields) -> None:
    transition(current, status, phase="", **fields)
    run.outcome, run.finished_at = status, timezone.now()
    GradingRun.objects.filter(pk=run.pk).update(outcome=status, finished_at=run.finished_at)
    current.regrade_items.filter(finished_at=None).update(
        score_after=current.score if status == Submission.GRADED else None, status_after=status,
        finished_at=timezone.now())


def submission_fail_unfinished(*, submission_id: int, reason: str, detail: str = "", run_id: int | None = None) -> bool:
    """The last line of defence (the task's on_failure): a submission left queued or running by a task
    that died of something nothing else caught ends in 'error' with a reason. True if it did. A grading
    that another worker is carrying on (its heartbeat fresh, or another run than ``run_id``) is left alone."""
    with transaction.atomic():
        current = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if current is None or current.status not in (Submission.QUEUED, Submission.RUNNING):
            return False
        if run_id is not None and current.current_run_id != run_id:
            return False
        beat = current.current_run.heartbeat_at if current.current_run_id else None
        if run_id is None and current.status == Submission.RUNNING and beat and beat > timezone.now() - stale_after() \
                and current.current_run.worker != _worker_name():
            return False
        run = current.current_run
        if run is not None and run.finished_at is None:
            run.message = (reason + ("\n\n" + detail if detail else ""))[:20000]
            run.save(update_fields=["message"])
            _finish(current, run, Submission.ERROR, error=INTERNAL_ERROR)
        else:
            transition(current, Submission.ERROR, error=INTERNAL_ERROR, phase="")
            current.regrade_items.filter(finished_at=None).update(status_after=Submission.ERROR,
                                                                  finished_at=timezone.now())
    log.error("submission %s ended in error by the task's last line of defence: %s", submission_id, reason)
    return True


def _worker_name() -> str:
    from celery import current_task

    return getattr(getattr(current_task, "request", None), "hostname", "") or platform.node()
