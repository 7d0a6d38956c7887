"""Celery tasks of the grade passback (queue ``lti``): thin wrappers over server.lti.grades."""
from datetime import timedelta

from django.utils import timezone

from server.celery import app
from server.lti import grades, roster
from server.lti.models import ContextLink, UsedNonce


@app.task(acks_late=True, ignore_result=True)
def grades_send() -> dict:
    return grades.send_due()


@app.task(acks_late=True, ignore_result=True)
def grades_sweep() -> dict:
    """Beat, every BELLMAN_LTI_SWEEP_SECONDS: the columns of assignments added since, every student's grade
    recorded again where it changed (due dates passed, hidden checks revealed, settings changed), then whatever is
    due is sent (retries, rows whose worker vanished, sends the broker lost)."""
    grades.line_items_sweep()
    grades.reconcile()
    UsedNonce.objects.filter(used_at__lt=timezone.now() - timedelta(days=1)).delete()  # their tokens have expired
    return grades.send_due()


@app.task(acks_late=True, ignore_result=True)
def line_items_make(link_id: int) -> int:
    """An instructor's launch: a gradebook column in the LMS course for each assignment that has none."""
    link = ContextLink.objects.select_related("platform", "course").filter(pk=link_id).first()
    return grades.line_items_make(link) if link is not None else 0


@app.task(acks_late=True, ignore_result=True)
def roster_sync(link_id: int) -> dict:
    """An instructor's launch: the LMS course's roster, now."""
    link = ContextLink.objects.select_related("platform", "course").filter(pk=link_id).first()
    return roster.sync(link) if link is not None else {}


@app.task(acks_late=True, ignore_result=True)
def roster_sweep() -> int:
    """Beat, every six hours: every linked LMS course's roster."""
    return roster.sync_all()
