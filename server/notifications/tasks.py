"""Celery tasks of the mail path (queue ``mail``): thin wrappers over services."""
from django.utils import timezone

from server.celery import app
from server.notifications.events import digests_create, reminders_create
from server.notifications.services import outbox_flush, outbox_sweep


@app.task(acks_late=True, ignore_result=True)
def mail_flush() -> int:
    return outbox_flush().sent


@app.task(acks_late=True, ignore_result=True)
def mail_sweep() -> int:
    """Beat, every minute: retries that are due, and rows whose task was lost."""
    return outbox_sweep().sent


@app.task(acks_late=True, ignore_result=True)
def reminders_send() -> int:
    """Beat, every 15 minutes: reminders for due dates within a day (each sent once)."""
    return reminders_create(now=timezone.now())


@app.task(acks_late=True, ignore_result=True)
def digests_send() -> int:
    """Beat, each morning: every instructor's digest of each course."""
    return digests_create(now=timezone.now())
