"""The mail path: messages rendered into the outbox in the transaction of their event, sent by Celery
over one reused SMTP connection per flush, retried with back-off, never marked sent before the server
accepted them.

Idempotence: each message has the key of its event (``graded:<submission>:<run>``...), unique in the
table, so a second creation for the same event does nothing. The one duplicate allowed is a worker
killed after the server accepted a message and before the row said so: the sweeper sends it again.
"""
import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from server.celery import send
from server.notifications.models import MailPreference, Message, Suppression

log = logging.getLogger(__name__)

# Which preference turns a kind off (None: always sent, e.g. the invitation that sets a password).
PREFERENCE = {Message.GRADED: "per_submission", Message.GRADING_ERROR: "per_submission",
              Message.PUBLISHED: "publications", Message.REMINDER: "reminders", Message.DIGEST: "digests",
              Message.INVITATION: None}
UNSUBSCRIBE_SALT = "bellman.unsubscribe"
STUCK_AFTER = timedelta(minutes=10)


def mail_configured() -> bool:
    """True when a host (or a provider's backend) is set: with neither, nothing is sent."""
    return bool(settings.EMAIL_HOST) or settings.EMAIL_BACKEND != "django.core.mail.backends.smtp.EmailBackend"


def absolute(path: str) -> str:
    return settings.BELLMAN_BASE_URL.rstrip("/") + path


# -- unsubscribe -----------------------------------------------------------------------------------------
def unsubscribe_token(user, preference: str) -> str:
    return signing.dumps({"u": user.pk, "p": preference}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str]:
    """The user id and preference a token turns off; raises signing.BadSignature when forged."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if data.get("p") not in {p for p in PREFERENCE.values() if p}:
        raise signing.BadSignature("unknown preference")
    return int(data["u"]), data["p"]


def preference_set(*, user_id: int, preference: str, value: bool) -> None:
    MailPreference.objects.update_or_create(user_id=user_id, defaults={preference: value})


def wants(user, kind: str) -> bool:
    preference = PREFERENCE[kind]
    if user is None or preference is None:
        return True
    found = MailPreference.objects.filter(user=user).values_list(preference, flat=True).first()
    return True if found is None else found


# -- creating messages -----------------------------------------------------------------------------------
def message_create(*, key: str, kind: str, user, template_context: dict, recipient: str = "",
                   course=None, submission=None) -> Message | None:
    """Render ``notifications/<kind>.{subject.txt,txt,html}`` into the outbox, once per ``key``, and have it
    sent when the surrounding transaction commits. Returns None when nothing is to be sent: no address,
    the user turned this kind off, or a message for the key exists already."""
    recipient = recipient or (user.email if user else "")
    if not recipient or not wants(user, kind) or Message.objects.filter(key=key).exists():
        return None
    preference = PREFERENCE[kind]
    unsubscribe = absolute(reverse("unsubscribe", args=[unsubscribe_token(user, preference)])) if (
        user and preference) else ""
    context = {**template_context, "user": user, "name": _name(user), "unsubscribe_url": unsubscribe,
               "preferences_url": absolute(reverse("mail_preferences")), "site": settings.BELLMAN_BASE_URL}
    headers = {"Auto-Submitted": "auto-generated"}
    if unsubscribe:
        headers |= {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    suppressed = Suppression.objects.filter(email__iexact=recipient).values_list("reason", flat=True).first()
    fields = dict(kind=kind, user=user, recipient=recipient, course=course, submission=submission,
                  subject=" ".join(render_to_string(f"notifications/{kind}.subject.txt", context).split())[:300],
                  text=render_to_string(f"notifications/{kind}.txt", context),
                  html=render_to_string(f"notifications/{kind}.html", context), headers=headers,
                  state=Message.REFUSED if suppressed else Message.PENDING,
                  last_error=f"not sent: {suppressed}" if suppressed else "")
    try:
        with transaction.atomic():
            message = Message.objects.create(key=key, **fields)
    except IntegrityError:
        return None  # created meanwhile by another process for the same event
    if not suppressed:
        transaction.on_commit(_send_soon)
    return message


def _send_soon():
    try:
        send("server.notifications.tasks.mail_flush", retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is down: the row waits for the sweeper
        log.warning("mail not queued now (%s); the sweeper sends it", exc)


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# -- sending ---------------------------------------------------------------------------------------------
@dataclass
class FlushResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    refused: int = 0
    connections: int = 0


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most an hour, between attempts."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def outbox_flush(*, now=None, limit: int = 1000, rate: float | None = None) -> FlushResult:
    """Send the messages that are due over one reused connection, at most ``rate`` per second."""
    now = now or timezone.now()
    result = FlushResult()
    due = Message.objects.filter(state=Message.PENDING).exclude(next_attempt_at__gt=now)
    if not mail_configured():
        due.update(state=Message.SKIPPED, last_error="EMAIL_HOST is not set: e-mail is off.")
        return result
    rate = settings.BELLMAN_MAIL_RATE if rate is None else rate
    connection = None
    for pk in list(due.order_by("id").values_list("id", flat=True)[:limit]):
        # Claimed one at a time, so that two flushes never send the same row.
        if not Message.objects.filter(pk=pk, state=Message.PENDING).update(state=Message.SENDING,
                                                                           claimed_at=timezone.now()):
            continue
        message = Message.objects.get(pk=pk)
        started = time.monotonic()
        try:
            if connection is None:
                connection = get_connection(fail_silently=False)
                connection.open()
                result.connections += 1
            accepted = connection.send_messages([_email(message, connection)])
            if not accepted:
                raise smtplib.SMTPException("the server accepted no recipient")
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            if code >= 500:
                _refused(message, f"{code} {_text(reason)}", result)
            else:
                _retry(message, f"{code} {_text(reason)}", now, result)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPServerDisconnected):
                _give_up(message, _describe(exc), result)  # the server will never take this message
            else:
                _retry(message, _describe(exc), now, result)
            connection = _drop(connection)
        except (smtplib.SMTPException, OSError) as exc:
            _retry(message, _describe(exc), now, result)
            connection = _drop(connection)
        else:
            Message.objects.filter(pk=pk).update(state=Message.SENT, sent_at=timezone.now(), last_error="",
                                                 attempts=message.attempts + 1)
            result.sent += 1
        if rate:
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))
    _drop(connection)
    return result


def _email(message: Message, connection) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(message.subject, message.text, settings.DEFAULT_FROM_EMAIL, [message.recipient],
                                   headers=message.headers, connection=connection)
    email.attach_alternative(message.html, "text/html")
    return email


def _retry(message: Message, error: str, now, result: FlushResult) -> None:
    attempts = message.attempts + 1
    give_up = now - message.created_at > settings.BELLMAN_MAIL_RETRY_FOR
    Message.objects.filter(pk=message.pk).update(
        state=Message.FAILED if give_up else Message.PENDING, attempts=attempts, last_error=error[:2000],
        next_attempt_at=None if give_up else timezone.now() + backoff(attempts))
    if give_up:
        result.failed += 1
        log.error("mail %s to %s failed for good after %d attempts: %s", message.pk, message.recipient, attempts, error)
    else:
        result.retried += 1


def _give_up(message: Message, error: str, result: FlushResult) -> None:
    Message.objects.filter(pk=message.pk).update(state=Message.FAILED, attempts=message.attempts + 1,
                                                 last_error=error[:2000])
    result.failed += 1
    log.error("mail %s to %s refused for good: %s", message.pk, message.recipient, error)


def _refused(message: Message, error: str, result: FlushResult) -> None:
    Message.objects.filter(pk=message.pk).update(state=Message.REFUSED, attempts=message.attempts + 1,
                                                 last_error=error[:2000])
    suppress(message.recipient, f"refused by the mail server: {error}")
    result.refused += 1


def suppress(email: str, reason: str) -> None:
    """Send nothing more to ``email``; what is still waiting for it is marked refused."""
    Suppression.objects.get_or_create(email=email.lower(), defaults={"reason": reason[:2000]})
    Message.objects.filter(recipient__iexact=email, state=Message.PENDING).update(
        state=Message.REFUSED, last_error=f"not sent: {reason}"[:2000])


def _drop(connection):
    if connection is not None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone either way
            pass
    return None


def _text(reason) -> str:
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def outbox_sweep(*, now=None) -> FlushResult:
    """The beat job: rows whose sending worker vanished go back to the queue (they may be sent twice),
    then whatever is due is sent."""
    now = now or timezone.now()
    Message.objects.filter(state=Message.SENDING, claimed_at__lt=now - STUCK_AFTER).update(state=Message.PENDING)
    return outbox_flush(now=now)
