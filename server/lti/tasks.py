"""Celery tasks of the grade passback (queue ``lti``): thin wrappers over server.lti.grades."""
from server.celery import app
from server.lti import grades


@app.task(acks_late=True, ignore_result=True)
def grades_send() -> dict:
    return grades.send_due()


@app.task(acks_late=True, ignore_result=True)
def grades_sweep() -> dict:
    """Beat, every two minutes: every student's grade recorded again where it changed (due dates passed, hidden
    checks revealed, settings changed), then whatever is due is sent (retries, rows whose worker vanished)."""
    grades.reconcile()
    return grades.send_due()
