import math
from datetime import timedelta
from itertools import pairwise

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from grader import assignments as folders
from grader.errors import AssignmentError


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Enrolment", related_name="courses")
    ends_on = models.DateField(null=True, blank=True,
                               help_text="The course's last day: the notebook cell's API tokens expire at its end.")
    token_days = models.PositiveIntegerField(
        default=120, help_text="Without an end date, the notebook cell's API tokens expire after this many days.")

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("course", args=[self.slug])

    def token_expiry(self, now):
        """When an API token made for this course (the notebook cell's) expires: the end of its last day, or
        ``token_days`` from ``now``."""
        from datetime import datetime, time, timedelta

        from django.utils import timezone

        if self.ends_on is not None:
            return timezone.make_aware(datetime.combine(self.ends_on + timedelta(days=1), time.min))
        return now + timedelta(days=self.token_days)

    def role_of(self, user) -> str | None:
        """'student', 'instructor', 'ta' or None for someone not enrolled (or no longer: Enrolment.active)."""
        if not user.is_authenticated:
            return None
        enrolment = self.enrolments.filter(user=user, active=True).first()
        return enrolment.role if enrolment else None


class Enrolment(models.Model):
    STUDENT, INSTRUCTOR, TA = "student", "instructor", "ta"
    ROLES = [(STUDENT, "Student"), (INSTRUCTOR, "Instructor"), (TA, "Teaching assistant")]
    # Who sees every student's work, the dashboards, the gradebook and the review queue. The course's settings,
    # roster, regrades and the LMS's grade passback are the instructors' alone.
    STAFF = (INSTRUCTOR, TA)

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments")
    role = models.CharField(max_length=20, choices=ROLES, default=STUDENT)
    # False: the member left the LMS course (the roster sync saw it): no access, their work kept, never deleted.
    active = models.BooleanField(default=True)
    # The LMS's test student (its "student view"): a student in every way, never counted in statistics or grades.
    preview = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "user"], name="one_enrolment_per_course")]

    def __str__(self):
        return f"{self.user} in {self.course} as {self.role}"


class Assignment(models.Model):
    """An assignment of a course; ``slug`` names its folder under assignments/.

    Deadlines: ``due_at`` is the due date; a submission after it is late. Under the ``cutoff`` policy
    nothing is accepted after the (personal) due date; under ``none`` and ``penalty`` late submissions
    are accepted until ``late_until`` (when set), the latter losing ``late_penalty_percent`` of its score
    per started day late."""

    LATE_NONE, LATE_PENALTY, LATE_CUTOFF = "none", "penalty", "cutoff"
    LATE_POLICIES = [(LATE_NONE, "Accepted, marked late, no penalty"),
                     (LATE_PENALTY, "Accepted with a penalty per day late"),
                     (LATE_CUTOFF, "Not accepted after the due date")]
    COUNT_LATEST, COUNT_BEST = "latest", "best"
    COUNTING = [(COUNT_LATEST, "The latest graded submission"), (COUNT_BEST, "The best graded submission")]

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    slug = models.SlugField()
    title = models.CharField(max_length=200)
    opens_at = models.DateTimeField(null=True, blank=True, help_text="Students can submit from then on.")
    due_at = models.DateTimeField(null=True, blank=True)
    late_until = models.DateTimeField(null=True, blank=True,
                                      help_text="No submission is accepted after this, late or not.")
    late_policy = models.CharField(max_length=20, choices=LATE_POLICIES, default=LATE_NONE)
    late_penalty_percent = models.FloatField(default=0.0, help_text="Percent of the score lost per day late.")
    counting = models.CharField(max_length=20, choices=COUNTING, default=COUNT_LATEST)
    is_open = models.BooleanField(default=True, help_text="Students can submit while this is set.")
    submission_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many submissions per student in a rolling window.")
    limit_window_hours = models.FloatField(default=24.0)
    hidden_checks = models.JSONField(default=list, blank=True,
                                     help_text="Check ids whose results students see after the due date.")
    remind_missing = models.BooleanField(
        default=True, help_text="E-mail students who have not submitted, 24 hours before their due date.")
    remind_below_full = models.BooleanField(
        default=False, help_text="E-mail students whose latest submission is below full marks, 24 hours before.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="one_assignment_per_slug")]
        ordering = ["course", "due_at", "slug"]

    def folder(self, *, strict: bool = False):
        """The assignment's folder under BELLMAN_ASSIGNMENTS_DIR (grader.assignments.AssignmentFolder): the one way
        to reach it. None when the folder is missing or broken (a page shows the assignment without it), unless
        ``strict``: then grader.errors.AssignmentError, for a grading that must say what is wrong."""
        try:
            return folders.get(self.slug, settings.BELLMAN_ASSIGNMENTS_DIR)
        except AssignmentError:
            if strict:
                raise
            return None

    @property
    def reviewed(self) -> bool:
        """Its scores are suggestions until an instructor reviews and publishes them (its kind says so: written
        answers); only published scores count."""
        folder = self.folder()
        return folder is not None and folder.kind.reviewed

    def __str__(self):
        return f"{self.course.slug}/{self.slug}"

    def get_absolute_url(self):
        return reverse("assignment", args=[self.course.slug, self.slug])

    def clean(self):
        order = [("opens_at", self.opens_at), ("due_at", self.due_at), ("late_until", self.late_until)]
        present = [(name, when) for name, when in order if when is not None]
        for (first, a), (second, b) in pairwise(present):
            if a > b:
                raise ValidationError({second: f"{self._meta.get_field(second).verbose_name} must come after "
                                                f"{self._meta.get_field(first).verbose_name}."})
        if not 0 <= self.late_penalty_percent <= 100:
            raise ValidationError({"late_penalty_percent": "A penalty is a percentage between 0 and 100."})
        if self.late_policy == self.LATE_PENALTY and not self.late_penalty_percent:
            raise ValidationError({"late_penalty_percent": "Give the percentage lost per day late."})
        if self.late_policy != self.LATE_NONE and self.due_at is None:
            raise ValidationError({"due_at": "A late policy needs a due date."})
        if self.limit_window_hours <= 0:
            raise ValidationError({"limit_window_hours": "The window must be longer than zero hours."})

    def due_for(self, extension_due=None):
        """The due date that applies to a student with ``extension_due`` (their extension, if any); an
        extension never ends before the class's due date (which may have moved since it was given)."""
        if extension_due is None or self.due_at is None:
            return extension_due or self.due_at
        return max(extension_due, self.due_at)

    def is_late(self, when, due=None) -> bool:
        due = due or self.due_at
        return due is not None and when > due

    def late_days(self, when, due=None) -> int:
        """Started days late (0 when on time): one second late is one day."""
        due = due or self.due_at
        if due is None or when <= due:
            return 0
        return math.ceil((when - due) / timedelta(days=1))

    def penalised(self, score: float | None, late_days: int) -> float | None:
        """The score after the late penalty."""
        if score is None or self.late_policy != self.LATE_PENALTY or not late_days:
            return score
        return round(max(0.0, score * (1 - self.late_penalty_percent / 100 * late_days)), 2)

    def closes_at(self, due=None):
        """When submissions stop being accepted for a student whose due date is ``due``; None: never."""
        due = due or self.due_at
        if self.late_policy == self.LATE_CUTOFF:
            return due
        if self.late_until and due and due > self.late_until:
            return due  # an extension past the late limit moves it
        return self.late_until

    def hides_results(self, now, due=None) -> bool:
        """Hidden checks stay hidden until the (personal) due date has passed."""
        due = due or self.due_at
        return bool(self.hidden_checks) and (due is None or now <= due)


class Extension(models.Model):
    """A student's personal due date for one assignment."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="extensions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions")
    due_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "student"], name="one_extension_per_student")]

    def __str__(self):
        return f"{self.student} until {self.due_at:%Y-%m-%d %H:%M} on {self.assignment}"
