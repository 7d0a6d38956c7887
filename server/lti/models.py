"""LTI 1.3: the platforms (LMSs) registered with Bellman, their deployments, the tool's own keys, the accounts
and courses that launches link, and the nonces already used."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from server.courses.models import Course


class Platform(models.Model):
    """An LMS registered with Bellman: one issuer and one client id (the id the LMS gave Bellman). Launches
    from it are refused until a staff member approves it."""

    issuer = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    name = models.CharField(max_length=200, blank=True)
    auth_login_url = models.CharField(max_length=500, help_text="The LMS's OIDC authorisation endpoint.")
    auth_token_url = models.CharField(max_length=500, help_text="The LMS's OAuth2 token endpoint.")
    key_set_url = models.CharField(max_length=500, help_text="The LMS's public keys (JWKS).")
    approved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "client_id"], name="one_platform_per_client")]

    def __str__(self):
        return f"{self.name or self.issuer} ({self.client_id})"

    def clean(self):
        """One issuer, one key set: accounts are (issuer, subject), so a registration of an issuer that signs with
        other keys than its other registrations could sign in as any of their users."""
        others = Platform.objects.filter(issuer=self.issuer).exclude(key_set_url=self.key_set_url)
        if self.pk:
            others = others.exclude(pk=self.pk)
        if others.exists():
            raise ValidationError({"key_set_url": f"The issuer {self.issuer} is registered already with another "
                                                  "key set: all of one issuer's launches are signed with its one "
                                                  "key set."})


class Deployment(models.Model):
    """A deployment of Bellman in a platform (an LMS gives one per install); launches name it."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "deployment_id"], name="one_deployment_id")]

    def __str__(self):
        return self.deployment_id


class ToolKey(models.Model):
    """One of Bellman's RSA keys: published in /lti/jwks/ until retired, signing from ``signs_from``. A rotation
    publishes a new key before it signs, so that platforms that cache the key set know it in time."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    signs_from = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-signs_from", "-id"]

    @classmethod
    def published(cls):
        return cls.objects.filter(retired_at__isnull=True)

    @classmethod
    def signing(cls, now=None) -> "ToolKey | None":
        """The key that signs now: the newest published one whose signing has begun."""
        return cls.published().filter(signs_from__lte=now or timezone.now()).first()

    def __str__(self):
        return self.kid


class Identity(models.Model):
    """An account as a platform knows it: (issuer, subject), never an e-mail address, which can change."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_account_per_subject")]


class ContextLink(models.Model):
    """An LMS course (a platform's context) linked to a Bellman course, by its instructor's first launch."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti_contexts")
    # The Assignment and Grade Services endpoint of the context, from its launches: where line items live.
    lineitems_url = models.CharField(max_length=500, blank=True)
    # The Names and Role Provisioning Services endpoint of the context: its roster.
    memberships_url = models.CharField(max_length=500, blank=True)
    # Whether the platform grants the line item scope: Bellman makes a gradebook column for each assignment.
    may_make_columns = models.BooleanField(default=False)
    roster_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "context_id"], name="one_course_per_context")]


class UsedNonce(models.Model):
    """A launch's nonce, kept so that the same id_token is accepted once (PyLTI1p3 accepts it again)."""

    issuer = models.CharField(max_length=255)
    nonce = models.CharField(max_length=255)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "nonce"], name="nonce_used_once")]


class LineItem(models.Model):
    """A column of the LMS's gradebook for one Bellman assignment (Assignment and Grade Services), with when its
    grades are sent: as soon as they change, after the due date, or when the instructor says."""

    AUTOMATIC, AFTER_DUE, ON_CLICK = "automatic", "after_due", "on_click"
    POLICIES = [(AUTOMATIC, "As soon as a score changes"), (AFTER_DUE, "After the due date"),
                (ON_CLICK, "When I click Send")]

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="line_items")
    context = models.ForeignKey(ContextLink, on_delete=models.CASCADE, related_name="line_items")
    assignment = models.ForeignKey("courses.Assignment", on_delete=models.CASCADE, related_name="lti_line_items")
    url = models.CharField(max_length=500)
    policy = models.CharField(max_length=20, choices=POLICIES, default=AUTOMATIC)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "url"], name="one_line_item_per_url")]

    def __str__(self):
        return f"{self.assignment} -> {self.url}"


class GradeSend(models.Model):
    """The outbox of grades: the score one student should have in one line item, and whether the LMS has it.
    One row per (line item, student): a newer score replaces an older one before it is sent, and each carries
    the time it changed, which the LMS uses to ignore anything older (so a retry never overwrites a newer one)."""

    PENDING, SENDING, SENT, FAILED, HELD = "pending", "sending", "sent", "failed", "held"
    STATES = [(s, s) for s in (PENDING, SENDING, SENT, FAILED, HELD)]

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="sends")
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="grade_sends")
    score = models.FloatField(null=True, blank=True)  # None: nothing to give yet (pending manual grading)
    maximum = models.FloatField()
    progress = models.CharField(max_length=20, default="FullyGraded")  # AGS gradingProgress
    changed_at = models.DateTimeField()  # the score's version: the AGS timestamp
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_version = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line_item", "identity"], name="one_grade_per_cell")]
