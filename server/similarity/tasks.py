"""Celery tasks of the similarity comparison, on the queue ``training`` (CPU work, on the hosts that train)."""
from server.celery import app
from server.similarity import services
from server.similarity.models import Run


@app.task(acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def similarity_run(run_id: int) -> str:
    """One comparison; a run already done (a message delivered twice) is left as it is."""
    from celery.exceptions import SoftTimeLimitExceeded

    run = Run.objects.select_related("assignment__course").filter(pk=run_id).first()
    if run is None or run.state == Run.DONE:
        return "nothing to do"
    try:
        services.execute(run)
    except SoftTimeLimitExceeded:
        Run.objects.filter(pk=run_id).update(state=Run.FAILED, error="The comparison ran past its time limit.")
        raise
    except Exception as exc:
        Run.objects.filter(pk=run_id).update(state=Run.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return "done"


@app.task(acks_late=True, ignore_result=True)
def similarity_sweep() -> int:
    """Beat: a run for each assignment whose late window closed since its last run."""
    return services.sweep()
