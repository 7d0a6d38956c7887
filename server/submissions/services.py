"""Submission workflows: create, queue, regrade, and the grading configuration they share."""
import logging
import math
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from grader import assignments, kinds, pipeline
from grader.errors import AssignmentError, InfrastructureError, SubmissionRejected
from sandbox import get_backend
from server.celery import send
from server.courses import grades
from server.courses.models import Assignment, Enrolment
from server.errors import Refused
from server.submissions import throttle
from server.submissions.models import GradingRun, Regrade, RegradeItem, Submission, transition

log = logging.getLogger(__name__)

# Redis serves lower numbers first (settings.CELERY_BROKER_TRANSPORT_OPTIONS): a regrade of a whole
# class never delays a student who submits now.
PRIORITY_NEW, PRIORITY_REGRADE = 0, 6
GRADE_TASK, TRAIN_TASK = "server.submissions.tasks.grade_submission", "server.submissions.tasks.train_submission"
CURVE_POINTS = 60


class SubmissionRefused(SubmissionRejected):
    """The assignment's rules refuse a submission now (closed, not open yet, past its deadline, the
    submission limit); ``verdict`` (grades.Acceptance) says which and until when."""

    def __init__(self, verdict: grades.Acceptance):
        super().__init__(verdict.reason)
        self.verdict = verdict


class SubmissionThrottled(SubmissionRejected):
    """Too many submissions of this student for now, through any door (throttle.py); ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many submissions for now ({throttle.rate_words()}): try again in {retry_after} s. "
                         "Nothing was stored.")
        self.retry_after = retry_after


class RegradeError(Refused):
    """A regrade that cannot be done as asked (nothing to regrade, a submission still grading)."""


def grading_config(*, backend: str | None = None, progress=None, hidden=()) -> pipeline.GradingConfig:
    """The pipeline's configuration from settings; ``backend`` overrides SANDBOX_BACKEND; ``hidden``: the
    assignment's hidden checks (run apart, their output kept apart)."""
    try:
        chosen = get_backend(backend or settings.SANDBOX_BACKEND, image=settings.SANDBOX_IMAGE,
                             rootfs=settings.SANDBOX_ROOTFS, runtime=settings.SANDBOX_RUNTIME)
    except Exception as exc:  # noqa: BLE001 - any failure to pick a backend is the machine's fault
        raise InfrastructureError(str(exc)) from exc
    return pipeline.GradingConfig(backend=chosen, max_upload_bytes=settings.BELLMAN_MAX_UPLOAD_BYTES,
                                  parallel_runs=settings.GRADER_PARALLEL_RUNS, tmp_root=settings.SANDBOX_TMP_DIR,
                                  progress=progress, max_budget_s=_max_budget(), hidden=frozenset(hidden))


def _max_budget() -> float:
    return settings.CELERY_TASK_SOFT_TIME_LIMIT - pipeline.TASK_GRACE_S



def task_limits(submission_id: int, phase: str) -> dict:
    """Celery's ``soft_time_limit`` and ``time_limit`` for grading ``phase`` of a submission, from its
    assignment's spec (pipeline.time_budget) plus pipeline.TASK_GRACE_S, never above the configured ones. Empty
    (the configured limits) when the assignment cannot be read."""
    slug = Submission.objects.filter(pk=submission_id).values_list("assignment__slug", flat=True).first()
    try:
        folder = assignments.get(slug, settings.BELLMAN_ASSIGNMENTS_DIR)
    except (AssignmentError, TypeError):
        return {}
    training = folder.phase_checks("training")
    only = training if phase == "training" else (folder.phase_checks("units") if training else [])
    config = pipeline.GradingConfig(backend=None, parallel_runs=settings.GRADER_PARALLEL_RUNS,
                                    max_budget_s=_max_budget())
    soft = pipeline.time_budget(folder, only, config) + pipeline.TASK_GRACE_S
    return {"soft_time_limit": soft, "time_limit": min(soft + pipeline.TASK_GRACE_S, settings.CELERY_TASK_TIME_LIMIT)}


@transaction.atomic
def submission_create(*, assignment: Assignment, student, filename: str, data: bytes, now=None,
                      role: str | None = None) -> Submission:
    """Store an upload and queue it for grading once the transaction commits.

    Raises SubmissionRejected (nothing stored) when the file cannot be graded as it is, its subclass
    SubmissionRefused when the assignment's rules (dates, submission limit) refuse it at ``now``, and
    SubmissionThrottled when the student submitted too often for now (through any door: throttle.py).
    """
    # One upload of a student at a time per course: two at once would both pass the submission limit's count.
    # The row lock holds until the transaction commits (PostgreSQL; SQLite serialises its writers anyway).
    list(Enrolment.objects.select_for_update().filter(course_id=assignment.course_id, user=student).values("pk"))
    verdict = grades.acceptance(assignment, student, now=now or timezone.now(), role=role)
    if not verdict.allowed:
        raise SubmissionRefused(verdict)
    folder = assignment.folder()  # None: graded (and reported as the grader's fault) like any other submission
    kind = folder.kind if folder is not None else kinds.get("code")
    source = kind.read(folder, filename, data, max_bytes=settings.BELLMAN_MAX_UPLOAD_BYTES)
    allowed, wait = throttle.allowed(student)
    if not allowed:
        raise SubmissionThrottled(wait)
    submission = Submission.objects.create(assignment=assignment, student=student, filename=filename,
                                           original=data, source=source)
    submission_enqueue(submission=submission)
    return submission


def submission_enqueue(*, submission: Submission, priority: int = PRIORITY_NEW) -> None:
    """Queue ``submission`` once the transaction commits. A broker that is down loses nothing: the
    submission stays queued and the sweeper sends it when the broker is back."""
    _move(submission, Submission.QUEUED)
    transaction.on_commit(lambda: task_send(submission.pk, priority=priority))


def task_send(submission_id: int, *, priority: int = PRIORITY_NEW) -> bool:
    """Put the grading task of ``submission_id`` on the broker; False (logged) when the broker is down."""
    return _send(GRADE_TASK, (submission_id,), priority, **task_limits(submission_id, "units"))


def train_send(submission_id: int, run_id: int) -> bool:
    """Put the training task of ``submission_id``'s current run on the broker (queue ``training``)."""
    regrading = Submission.objects.filter(pk=submission_id, regrade_items__finished_at=None).exists()
    return _send(TRAIN_TASK, (submission_id, run_id), PRIORITY_REGRADE if regrading else PRIORITY_NEW,
                 **task_limits(submission_id, "training"))


def _send(task: str, args: tuple, priority: int, **limits) -> bool:
    try:
        send(task, args, priority=priority, retry=False, **limits)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper sends it later
        log.warning("submission %s not queued now (%s); the sweeper will send it", args[0], exc)
        return False
    return True


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
    transition(submission, status, **fields)


def queue_estimate(submission: Submission, *, now=None) -> dict:
    """Where a queued submission stands: its position (new submissions before regrades, then by age),
    the workers grading now, and when grading should start, from this assignment's measured grading
    times over the last day: ``{"position", "workers", "start_in_s"}``."""
    now = now or timezone.now()
    waiting = Submission.objects.filter(status=Submission.QUEUED, created_at__lt=submission.created_at)
    regrading = Submission.objects.filter(regrade_items__finished_at=None)
    mine_is_regrade = regrading.filter(pk=submission.pk).exists()
    ahead = waiting.count() if mine_is_regrade else waiting.exclude(pk__in=regrading).count()
    running = Submission.objects.filter(status=Submission.RUNNING).count()
    recent = GradingRun.objects.filter(heartbeat_at__gte=now - timedelta(minutes=1))
    workers = max(1, recent.values("worker").distinct().count())
    durations = [(f - s).total_seconds() for s, f in GradingRun.objects.filter(
        submission__assignment=submission.assignment, finished_at__gte=now - timedelta(days=1),
        outcome=Submission.GRADED).values_list("started_at", "finished_at")[:500]]
    typical = float(np.median(durations)) if durations else 60.0
    start_in = math.ceil((ahead + running) / workers) * typical if (ahead or running >= workers) else 0
    return {"position": ahead + 1, "workers": workers, "start_in_s": round(start_in)}
