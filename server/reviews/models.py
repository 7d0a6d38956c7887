"""The review of written answers: the answers kept, the students' drafts, the instructor's grades and their
publication, near-duplicate answers. The tables kept their names when the models moved here from submissions."""
from django.conf import settings
from django.db import models

from server.courses.models import Assignment
from server.submissions.models import Submission


class WrittenAnswer(models.Model):
    """One answer of a written submission, as read from its Markdown (text: shown escaped, never run)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="answers")
    item_id = models.CharField(max_length=20)
    text = models.TextField()

    class Meta:
        db_table = "submissions_writtenanswer"
        ordering = ["submission", "id"]
        constraints = [models.UniqueConstraint(fields=["submission", "item_id"], name="one_answer_per_item")]


class Draft(models.Model):
    """A student's unsubmitted answers on the web form, kept between visits."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="drafts")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    answers = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "submissions_draft"
        constraints = [models.UniqueConstraint(fields=["assignment", "student"], name="one_draft_per_student")]


class ManualGrade(models.Model):
    """An instructor's decision on one check: the suggested score accepted, or another with a comment.
    The latest per (submission, check) counts; earlier ones are the history."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="manual_grades")
    check_id = models.CharField(max_length=100)
    score = models.FloatField()
    suggested = models.FloatField()
    comment = models.TextField(blank=True)
    grader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "submissions_manualgrade"
        ordering = ["submission", "check_id", "-created_at", "-id"]

    @property
    def overridden(self) -> bool:
        return self.score != self.suggested


class Publication(models.Model):
    """The scores of a reviewed submission, made visible to its student."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="publication")
    score = models.FloatField()
    max_score = models.FloatField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "submissions_publication"


class DuplicateFlag(models.Model):
    """Two students' answers to one item that are nearly the same text: shown to instructors, never a penalty."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="duplicate_flags")
    item_id = models.CharField(max_length=20)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="duplicate_flags")
    other = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField(help_text="Share of word 3-grams in common (Jaccard).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "submissions_duplicateflag"
        ordering = ["-similarity"]
        constraints = [models.UniqueConstraint(fields=["submission", "other", "item_id"], name="one_flag_per_pair")]
