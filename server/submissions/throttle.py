"""How many submissions a student may make per unit of time, whichever door they come through (the upload
form, the written form, the JSON API, the notebook cell and the terminal client, which use the API): one count
per student, ``BELLMAN_API_RATE_SUBMIT`` (e.g. "10/min"), kept in Django's cache by django-ninja's throttle
(a sliding window of the times of the student's last submissions)."""
import logging

from django.conf import settings
from ninja.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)


class SubmitThrottle(SimpleRateThrottle):
    """The student's window; the rate is read from settings when it is asked, never at import time."""

    def __init__(self):  # no super().__init__(): it would read the rate now
        self.rate = settings.BELLMAN_API_RATE_SUBMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request):  # ``request`` is the student here: the count is theirs, not a client's
        return f"bellman-submit-user-{request.pk}"


def allowed(student) -> tuple[bool, int]:
    """(whether ``student`` may submit now, seconds until they may when not); counts the submission when they may.
    A cache that is down lets the submission through (logged): never lose a student's work to the cache."""
    throttle = SubmitThrottle()
    try:
        if throttle.allow_request(student):
            return True, 0
        wait = throttle.wait()
    except Exception as exc:  # noqa: BLE001 - any cache failure
        log.warning("submission rate not counted (%s: %s); submission let through", type(exc).__name__, exc)
        return True, 0
    return False, max(1, int(wait + 0.999)) if wait is not None else throttle.duration


def rate_words() -> str:
    throttle = SubmitThrottle()
    number, seconds = throttle.num_requests, throttle.duration
    unit = {1: "a second", 60: "a minute", 3600: "an hour", 86400: "a day"}.get(seconds, f"in {seconds} s")
    return f"at most {number} submission{'s' if number != 1 else ''} {unit}"
