"""Celery tasks: thin wrappers that take ids and call services."""
from grader.celery import app
from grader.errors import InfrastructureError


@app.task(bind=True, acks_late=True, max_retries=3, autoretry_for=(InfrastructureError,),
          retry_backoff=5, retry_jitter=True)
def grade_submission(self, submission_id: int) -> str:
    from server.submissions.services import submission_grade

    return submission_grade(submission_id=submission_id, attempt=self.request.retries + 1,
                            final_attempt=self.request.retries >= self.max_retries,
                            worker=self.request.hostname or "")
