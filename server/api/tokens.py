"""Personal API tokens: created (shown once), looked up by their digest, revoked.

A token is 40 random URL-safe characters behind the marker ``bm_`` (240 bits: guessing is not an attack,
so one SHA-256 is the right hash; a slow password hash would only slow every request). It is found by
the digest of what the client sends, through the unique index: nothing compares the secret itself
character by character, so a response's timing says nothing about how close a guess was.
"""
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from server.api.models import ApiToken
from server.errors import Refused

MARKER = "bm_"
PREFIX_LENGTH = 8
MAX_NAME_LENGTH = 100
# last_used_at is written at most this often per token: a script polling every second writes once a minute.
TOUCH_EVERY = timedelta(minutes=1)


# What the token page offers for a new token's life, in days (0: never expires); BELLMAN_API_TOKEN_DAYS chooses the
# default among them.
EXPIRY_CHOICES = (7, 30, 90, 180, 365, 0)


class TokenError(Refused):
    """A token that cannot be created as asked (a missing or too long name, an expiry not offered)."""


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def default_days() -> int:
    return settings.BELLMAN_API_TOKEN_DAYS


@transaction.atomic
def token_create(user, name: str, *, expires_at=None, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: (the stored row, the token itself). The token is not stored and cannot be shown
    again. It expires at ``expires_at``, or after ``days`` (0: never; by default BELLMAN_API_TOKEN_DAYS). Raises
    TokenError for an empty or too long name."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, such as \"Colab\" or \"my laptop\".")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"A token's name has at most {MAX_NAME_LENGTH} characters.")
    if expires_at is None:
        days = default_days() if days is None else days
        expires_at = timezone.now() + timedelta(days=days) if days else None
    plaintext = MARKER + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(user=user, name=name, prefix=plaintext[:PREFIX_LENGTH], digest=digest(plaintext),
                                    expires_at=expires_at)
    return token, plaintext


def token_revoke(token: ApiToken, *, now=None) -> None:
    """Refuse ``token`` from now on (kept, marked revoked, so its owner sees when it was used last)."""
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=token.revoked_at)


def token_lookup(plaintext: str) -> ApiToken | None:
    """The token row that ``plaintext`` is, revoked or not (None when it is no token of ours)."""
    if not plaintext or len(plaintext) > 200:
        return None
    return ApiToken.objects.select_related("user").filter(digest=digest(plaintext)).first()


def token_user(plaintext: str, *, now=None):
    """The active user whose live token ``plaintext`` is, or None (unknown, revoked, inactive account).
    Records the use (at most once a minute)."""
    token = token_lookup(plaintext)
    if token is None or token.is_revoked or token.is_expired(now) or not token.user.is_active:
        return None
    token_touch(token, now=now)
    return token.user


def token_touch(token: ApiToken, *, now=None) -> None:
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
