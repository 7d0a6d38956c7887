from django.conf import settings
from django.db import models
from django.urls import reverse

from server.courses.models import Assignment


class Submission(models.Model):
    """One uploaded file and its grading state: received -> queued -> running -> graded | error."""

    RECEIVED, QUEUED, RUNNING, GRADED, ERROR = "received", "queued", "running", "graded", "error"
    STATUSES = [(s, s.capitalize()) for s in (RECEIVED, QUEUED, RUNNING, GRADED, ERROR)]
    PENDING = (RECEIVED, QUEUED, RUNNING)
    TRANSITIONS = {
        RECEIVED: {QUEUED, ERROR},
        QUEUED: {RUNNING, ERROR},
        # back to queued when an infrastructure fault is retried or its worker vanished; running again when another
        # worker reclaims a grading whose worker stopped heart-beating
        RUNNING: {GRADED, ERROR, QUEUED, RUNNING},
        GRADED: {QUEUED},  # regrade
        ERROR: {QUEUED},  # regrade
    }

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=255)
    original = models.BinaryField(help_text="The uploaded bytes, as received.")
    source = models.TextField(help_text="The Python source that is graded (notebooks reduced to code).")
    status = models.CharField(max_length=20, choices=STATUSES, default=RECEIVED, db_index=True)
    status_changed_at = models.DateTimeField(auto_now=True)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    UNITS, TRAINING_QUEUED, TRAINING = "units", "training_queued", "training"
    phase = models.CharField(max_length=20, blank=True,
                             help_text="While running: grading its unit checks, waiting for a trainer, or training.")
    current_run = models.ForeignKey("GradingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="The grading that may store this submission's report.")
    curve_summary = models.JSONField(
        null=True, blank=True, help_text="The runs' returns on a coarse grid of episodes, for class dashboards.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["assignment", "student", "created_at"], name="submission_by_student")]

    def __str__(self):
        return f"#{self.pk} {self.student} {self.assignment}"

    def get_absolute_url(self):
        return reverse("submission", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @classmethod
    def sources_of(cls, status: str) -> set[str]:
        """The statuses from which a submission may move to ``status``."""
        return {source for source, targets in cls.TRANSITIONS.items() if status in targets}


def transition(target: "Submission | models.QuerySet", status: str, **fields) -> int:
    """The one way a submission's status changes (a test holds every other write of it to this), by TRANSITIONS.

    ``target`` a submission: it moves, with ``fields``, and is saved (ValueError for a move the table forbids).
    ``target`` a queryset: one UPDATE moves those of its rows whose status may go to ``status`` (the others stay
    as they are: a compare-and-set for workers and the sweeper racing on the same rows); returns how many moved."""
    from django.utils import timezone

    if isinstance(target, Submission):
        if not target.can_move_to(status):
            raise ValueError(f"submission {target.pk} cannot go from {target.status} to {status}")
        target.status = status
        for name, value in fields.items():
            setattr(target, name, value)
        target.save()
        return 1
    return target.filter(status__in=Submission.sources_of(status)).update(
        status=status, **{"status_changed_at": timezone.now(), **fields})

    def is_late(self) -> bool:
        return self.assignment.is_late(self.created_at)


class GradingRun(models.Model):
    """One attempt at grading a submission: when each phase ran, where, with what."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="runs")
    attempt = models.PositiveIntegerField()
    backend = models.CharField(max_length=20, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Moved every few seconds while grading.")
    live_curves = models.JSONField(default=list, blank=True,
                                   help_text="Training runs' returns so far, published while they train.")
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    timings = models.JSONField(default=dict, help_text="Seconds per pipeline step.")
    versions = models.JSONField(default=dict)
    message = models.TextField(blank=True)
    regrade = models.ForeignKey("Regrade", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    score = models.FloatField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True, help_text="The report this run produced: the history.")

    class Meta:
        ordering = ["submission", "attempt"]


class CheckResult(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="check_results")
    check_id = models.CharField(max_length=100)
    status = models.CharField(max_length=20)
    score = models.FloatField()
    max_score = models.FloatField()
    feedback = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    mistake = models.CharField(max_length=100, blank=True, db_index=True,
                               help_text="details['mistake'], the known mistake's stable id, kept to be counted.")

    class Meta:
        ordering = ["submission", "id"]
        constraints = [models.UniqueConstraint(fields=["submission", "check_id"], name="one_result_per_check")]


class Regrade(models.Model):
    """An instructor's request to grade again one submission, or every counting one of an assignment."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="regrades")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    scope = models.CharField(max_length=200, help_text="What was asked: one submission or the counting ones.")

    class Meta:
        ordering = ["-created_at", "-id"]


class RegradeItem(models.Model):
    """One submission of a regrade, with its score before and (once graded again) after."""

    regrade = models.ForeignKey(Regrade, on_delete=models.CASCADE, related_name="items")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="regrade_items")
    score_before = models.FloatField(null=True, blank=True)
    status_before = models.CharField(max_length=20)
    score_after = models.FloatField(null=True, blank=True)
    status_after = models.CharField(max_length=20, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["regrade", "id"]
        constraints = [models.UniqueConstraint(fields=["regrade", "submission"], name="one_item_per_submission")]

    @property
    def changed(self) -> bool:
        return self.finished_at is not None and (self.score_before, self.status_before) != (
            self.score_after, self.status_after)
