"""Signal receivers of the LTI app, connected in LtiConfig.ready() (once the models are loaded)."""
import logging

from server.lti import grades

log = logging.getLogger(__name__)


def score_changed(sender, *, assignment, student, **kwargs):
    """A score that may have changed goes to the outbox of every LMS gradebook column of the assignment."""
    try:
        grades.record(assignment, student)
    except Exception:  # noqa: BLE001 - grading must never fail for the LMS's sake: the beat's reconcile retries
        log.exception("grade passback not recorded for %s / %s", assignment, student)
