"""A comparison of an assignment's submissions (a run), the pairs it found, the instructor's decision on a pair
(kept across runs), and the known public solutions an instructor uploads."""
from django.conf import settings
from django.db import models

from server.courses.models import Assignment


class Reference(models.Model):
    """A known public solution (an RL library's example, a posted answer) that submissions are compared with,
    labelled as such in every result and never compared with another reference."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="similarity_references")
    label = models.CharField(max_length=100)
    filename = models.CharField(max_length=255)
    code = models.TextField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "label"], name="one_reference_per_label")]

    def __str__(self):
        return f"{self.label} ({self.assignment})"


class Run(models.Model):
    """One comparison of an assignment's submissions that count (one per student)."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATES = [(QUEUED, "queued"), (RUNNING, "running"), (DONE, "done"), (FAILED, "failed")]

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="similarity_runs")
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    engine = models.CharField(max_length=100, blank=True)
    parameters = models.JSONField(default=dict)
    submissions = models.PositiveIntegerField(default=0)
    pairs_compared = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    automatic = models.BooleanField(default=False)  # queued by the beat after the due date and the late window
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["assignment", "-created_at"], name="similarity_run_latest")]


class Pair(models.Model):
    """Two submissions (or a submission and a reference) that share code; ``a`` is always a student's."""

    STUDENT, EARLIER, PUBLIC = "student", "earlier", "public"
    KINDS = [(STUDENT, "student"), (EARLIER, "an earlier course's submission"), (PUBLIC, "known public solution")]

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="pairs")
    a = models.ForeignKey("submissions.Submission", on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey("submissions.Submission", null=True, blank=True, on_delete=models.CASCADE,
                          related_name="+")
    b_reference = models.ForeignKey(Reference, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    b_kind = models.CharField(max_length=10, choices=KINDS, default=STUDENT)
    similarity = models.FloatField()
    overlap = models.PositiveIntegerField(help_text="Tokens in shared fragments.")
    longest = models.PositiveIntegerField(help_text="Tokens of the longest shared fragment.")
    flagged = models.BooleanField(default=False)
    exact = models.BooleanField(default=False, help_text="The whole files are the same (information only).")
    fragments = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["run", "-similarity"], name="similarity_pair_rank")]

    @property
    def b_label(self) -> str:
        if self.b_kind == self.PUBLIC:
            return f"public: {self.b_reference.label}"
        if self.b_kind == self.EARLIER:
            return f"earlier: {self.b.assignment.course.slug}/{self.b.student.get_username()}"
        return self.b.student.get_username()

    @property
    def key(self) -> tuple[str, str]:
        """The pair's identity across runs (what a decision is about)."""
        a = f"user:{self.a.student_id}"
        if self.b_kind == self.PUBLIC:
            return a, f"reference:{self.b_reference_id}"
        if self.b_kind == self.EARLIER:
            return a, f"submission:{self.b_id}"
        return tuple(sorted((a, f"user:{self.b.student_id}")))


class Decision(models.Model):
    """The instructor's word on a pair, kept for the next runs: a similarity is never a verdict by itself."""

    DISMISSED, CONFIRMED = "dismissed", "confirmed"
    CHOICES = [(DISMISSED, "dismissed"), (CONFIRMED, "confirmed")]

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="similarity_decisions")
    a_key = models.CharField(max_length=60)
    b_key = models.CharField(max_length=60)
    decision = models.CharField(max_length=10, choices=CHOICES)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "a_key", "b_key"], name="one_decision_per_pair")]
