"""The outbox: every e-mail is a row first, created in the transaction of the event it is about, then
sent by Celery. A message is marked sent only after the server accepted it."""
from django.conf import settings
from django.db import models


class Message(models.Model):
    PENDING, SENDING, SENT, FAILED, REFUSED, SKIPPED = "pending", "sending", "sent", "failed", "refused", "skipped"
    STATES = [(PENDING, "Waiting to be sent"), (SENDING, "Being sent"), (SENT, "Sent"),
              (FAILED, "Gave up after retrying"), (REFUSED, "Address refused or unsubscribed"),
              (SKIPPED, "Not sent: e-mail is not configured")]
    GRADED, GRADING_ERROR, PUBLISHED, REMINDER, INVITATION, DIGEST = (
        "graded", "grading_error", "published", "reminder", "invitation", "digest")
    KINDS = [(GRADED, "Submission graded"), (GRADING_ERROR, "Grading failed"), (PUBLISHED, "Written answers published"),
             (REMINDER, "Deadline reminder"), (INVITATION, "Account invitation"), (DIGEST, "Instructor's daily digest")]

    key = models.CharField(max_length=200, unique=True,
                           help_text="The event this message is about: a second creation for it is a no-op.")
    kind = models.CharField(max_length=20, choices=KINDS)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="messages_received")
    recipient = models.EmailField()
    course = models.ForeignKey("courses.Course", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submission = models.ForeignKey("submissions.Submission", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="messages")
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=STATES, default=PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="message_due")]

    def __str__(self):
        return f"{self.kind} to {self.recipient} ({self.state})"


class MailPreference(models.Model):
    """What a user lets Bellman send them; reminders and publications stay on unless turned off too."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preference")
    per_submission = models.BooleanField(default=True, help_text="An e-mail each time a submission is graded.")
    reminders = models.BooleanField(default=True, help_text="A reminder 24 hours before a due date.")
    publications = models.BooleanField(default=True, help_text="Written answers' scores once published.")
    digests = models.BooleanField(default=True, help_text="Instructors: a daily summary of each course.")


class Suppression(models.Model):
    """An address that bounced or was refused: nothing more is sent to it until staff lift it."""

    email = models.EmailField(unique=True)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.email
