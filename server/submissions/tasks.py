"""Celery tasks: thin wrappers that take ids and call the grading services."""
from celery import Task

from grader.errors import InfrastructureError
from server.celery import app
from server.submissions.grading import submission_fail_unfinished, submission_grade, submission_train
from server.submissions.sweeper import submissions_sweep as sweep


class GradingTask(Task):
    """The last line of defence: whatever killed the task (a time limit, an error nothing caught), its
    submission does not stay queued or running; it ends in 'error' with a reason."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if args:
            submission_fail_unfinished(submission_id=int(args[0]), reason=f"{type(exc).__name__}: {exc}",
                                       detail=str(einfo), run_id=int(args[1]) if len(args) > 1 else None)


@app.task(bind=True, base=GradingTask, acks_late=True, max_retries=3, autoretry_for=(InfrastructureError,),
          retry_backoff=5, retry_jitter=True)
def grade_submission(self, submission_id: int) -> str:
    return submission_grade(submission_id=submission_id, final_attempt=self.request.retries >= self.max_retries,
                            worker=self.request.hostname or "")


@app.task(bind=True, base=GradingTask, acks_late=True, max_retries=3, autoretry_for=(InfrastructureError,),
          retry_backoff=5, retry_jitter=True)
def train_submission(self, submission_id: int, run_id: int) -> str:
    """Queue ``training``: the learning-curve checks of a submission whose unit checks are stored."""
    return submission_train(submission_id=submission_id, run_id=run_id,
                            final_attempt=self.request.retries >= self.max_retries, worker=self.request.hostname or "")


@app.task(acks_late=True, ignore_result=True)
def submissions_sweep() -> int:
    """Beat: queued submissions the broker lost and running ones whose worker died are sent again."""
    result = sweep()
    return len(result.resent)
