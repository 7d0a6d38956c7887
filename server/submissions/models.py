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
        RUNNING: {GRADED, ERROR, QUEUED},  # back to queued when an infrastructure fault is retried
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

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.student} {self.assignment}"

    def get_absolute_url(self):
        return reverse("submission", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    def is_late(self) -> bool:
        return self.assignment.is_late(self.created_at)


class GradingRun(models.Model):
    """One attempt at grading a submission: when each phase ran, where, with what."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="runs")
    attempt = models.PositiveIntegerField()
    backend = models.CharField(max_length=20, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    timings = models.JSONField(default=dict, help_text="Seconds per pipeline step.")
    versions = models.JSONField(default=dict)
    message = models.TextField(blank=True)

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

    class Meta:
        ordering = ["submission", "id"]
        constraints = [models.UniqueConstraint(fields=["submission", "check_id"], name="one_result_per_check")]
