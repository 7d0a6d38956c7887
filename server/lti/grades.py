"""Grades to the LMS (LTI Assignment and Grade Services): line items for Bellman's assignments, and an outbox of
scores (GradeSend, one row per student and line item) sent by a Celery task on the queue ``lti``.

- What is sent is the score that counts (latest or best, late penalty applied), as the student may see it now:
  while hidden checks are hidden, only the visible checks' points; a written submission goes as pending manual
  grading until its scores are published.
- ``record`` is called whenever a score may have changed (a grading stored, a review published) and by the beat's
  ``reconcile`` (a due date passed, hidden checks revealed, a setting changed); a row changes only when the
  score does, and carries the time it changed, the AGS timestamp, by which the LMS ignores an older score.
- ``send_due`` claims rows one at a time and posts them with an OAuth2 token obtained with a JWT assertion
  signed by Bellman's key (PyLTI1p3's ServiceConnector), reused until it expires, in the cache every process
  shares. 429 and 5xx (and a refused connection) are retried with back-off, honouring Retry-After; any other
  4xx will not change by retrying: the row fails with what to fix, shown on the assignment's dashboard.
"""
import email.utils
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from pylti1p3.exception import LtiServiceException
from pylti1p3.service_connector import ServiceConnector

from server.celery import send
from server.courses import grades as course_grades
from server.courses.models import Assignment, Enrolment
from server.lti import launch
from server.lti.models import ContextLink, GradeSend, Identity, LineItem, Platform
from server.submissions.models import Submission
from server.submissions.visibility import hides_for

log = logging.getLogger(__name__)

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
STUCK_AFTER = timedelta(minutes=5)  # a row claimed this long ago by a worker that vanished is sent again
HTTP_TIMEOUT_S = 20
NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.IGNORECASE)


# -- line items -------------------------------------------------------------------------------------------------------
def on_launch(platform: Platform, body: dict, course, role: str) -> None:
    """Remember the context's line items endpoint; the line item an LMS link carries (a deep-linked Bellman
    assignment); on an instructor's launch, a line item for every assignment that has none yet."""
    endpoint = body.get(AGS_CLAIM) or {}
    link = ContextLink.objects.filter(platform=platform, context_id=launch.context_id(body)).first()
    if link is None or not isinstance(endpoint, dict):
        return
    if endpoint.get("lineitems") and link.lineitems_url != endpoint["lineitems"]:
        link.lineitems_url = str(endpoint["lineitems"])[:500]
        link.save(update_fields=["lineitems_url"])
    custom = body.get(launch.CLAIM + "custom") or {}
    slug = custom.get("assignment") if isinstance(custom, dict) else None
    assignment = course.assignments.filter(slug=slug).first() if slug else None
    if endpoint.get("lineitem") and assignment is not None:
        LineItem.objects.get_or_create(platform=platform, url=str(endpoint["lineitem"])[:500],
                                       defaults={"context": link, "assignment": assignment})
    scopes = set(s for s in endpoint.get("scope") or [] if isinstance(s, str)) if isinstance(
        endpoint.get("scope"), list) else set()
    if (SCOPE_LINEITEM in scopes) != link.may_make_columns:
        link.may_make_columns = SCOPE_LINEITEM in scopes
        link.save(update_fields=["may_make_columns"])
    if role == Enrolment.INSTRUCTOR and link.lineitems_url and link.may_make_columns:
        link_id = link.pk  # the LMS's answers never hold up the instructor's launch: a task makes the columns
        transaction.on_commit(lambda: queue("server.lti.tasks.line_items_make", (link_id,)))


def line_items_make(link: ContextLink) -> int:
    """A line item for every assignment of the linked course that has none yet in this LMS course; returns how many
    were made. An LMS's odd answer fails one assignment's column, not the others'."""
    made = 0
    if not link.lineitems_url or not link.may_make_columns:
        return made
    for missing in link.course.assignments.exclude(lti_line_items__context=link):
        try:
            line_item_create(link, missing)
            made += 1
        except GradeServiceError as exc:
            log.warning("line item for %s not made: %s", missing, exc)
    return made


def line_items_sweep() -> int:
    """The beat's job: the columns of assignments added since the last instructor's launch."""
    return sum(line_items_make(link) for link in ContextLink.objects.filter(may_make_columns=True)
               .exclude(lineitems_url="").select_related("platform", "course"))


def line_item_create(link: ContextLink, assignment: Assignment) -> LineItem:
    """The assignment's line item in the LMS course: found by its resource id (after a course copy the LMS has
    it already: no duplicate is made), else made."""
    connector = Connector(link.platform)
    found = connector.request([SCOPE_LINEITEM], link.lineitems_url, params={"resource_id": assignment.slug},
                              accept="application/vnd.ims.lis.v2.lineitemcontainer+json")
    items = found if isinstance(found, list) else []
    item = next((i for i in items if isinstance(i, dict) and i.get("resourceId") == assignment.slug), None)
    if item is None:
        folder = assignment.folder()
        data = {"label": assignment.title, "resourceId": assignment.slug,
                "scoreMaximum": folder.max_score if folder else 100.0}
        if assignment.due_at:
            data["endDateTime"] = assignment.due_at.isoformat()
        item = connector.request([SCOPE_LINEITEM], link.lineitems_url, post=data, content_type=LINEITEM_TYPE,
                                 accept=LINEITEM_TYPE)
    if not isinstance(item, dict) or not item.get("id"):
        raise GradeServiceError("the LMS answered without a line item id")
    line_item, _ = LineItem.objects.get_or_create(platform=link.platform, url=str(item["id"])[:500],
                                                  defaults={"context": link, "assignment": assignment})
    return line_item


# -- what each student should have -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grade:
    score: float | None
    maximum: float
    progress: str  # AGS gradingProgress: FullyGraded, PendingManual


def grade_of(assignment: Assignment, student, *, now=None, standings: dict | None = None) -> Grade | None:
    """The grade the LMS should show ``student`` for ``assignment`` now; None when there is none yet.
    ``standings``: the assignment's (courses.grades.standings), when the caller has them for every student."""
    now = now or timezone.now()
    standings = course_grades.standings([assignment]) if standings is None else standings
    folder = assignment.folder()
    maximum = folder.max_score if folder else 100.0
    if assignment.reviewed:
        standing = standings.get((assignment.pk, student.pk))
        if standing is None:
            return None
        if standing.submission_id is None:
            return Grade(None, maximum, "PendingManual") if standing.submitted else None
        return Grade(standing.score, standing.max_score or maximum, "FullyGraded")
    standing = standings.get((assignment.pk, student.pk))
    if standing is None or standing.submission_id is None:
        return None
    hidden = set(assignment.hidden_checks)
    due = course_grades.personal_due(assignment, student)
    if hidden and hides_for(assignment, role=Enrolment.STUDENT, now=now, due=due):
        return _visible_grade(assignment, student, hidden, due)
    return Grade(standing.score, standing.max_score or maximum, "FullyGraded")


def _visible_grade(assignment: Assignment, student, hidden: set, due) -> Grade | None:
    """While hidden checks are hidden: the visible checks' points (late penalty applied) out of their maximum, of
    the submission that counts by those points alone (the best by its full score would tell which one passed
    the hidden checks)."""
    candidates = []
    for created_at, report in (Submission.objects.filter(assignment=assignment, student=student,
                                                        status=Submission.GRADED)
                               .order_by("created_at", "id").values_list("created_at", "report")):
        checks = [c for c in (report or {}).get("checks", []) if c.get("id") not in hidden]
        visible = assignment.penalised(round(sum(c.get("score") or 0.0 for c in checks), 2),
                                       assignment.late_days(created_at, due))
        candidates.append((visible, round(sum(c.get("max_score") or 0.0 for c in checks), 2)))
    if not candidates:
        return None
    score, maximum = (candidates[-1] if assignment.counting == Assignment.COUNT_LATEST
                      else max(candidates, key=lambda c: c[0]))
    return Grade(score, maximum, "FullyGraded")


def _held(line_item: LineItem, now) -> bool:
    if line_item.policy == LineItem.ON_CLICK:
        return True
    due = line_item.assignment.due_at
    return line_item.policy == LineItem.AFTER_DUE and (due is None or now < due)


@transaction.atomic
def record(assignment: Assignment, student, *, now=None, standings: dict | None = None) -> int:
    """Bring the outbox up to date for one student of ``assignment``; returns the rows that changed."""
    now = now or timezone.now()
    changed = 0
    line_items = list(LineItem.objects.filter(assignment=assignment).select_related("platform", "assignment"))
    if not line_items:
        return 0
    grade = grade_of(assignment, student, now=now, standings=standings)
    for line_item in line_items:
        identity = Identity.objects.filter(user=student, issuer=line_item.platform.issuer).first()
        if identity is None or grade is None:
            continue
        row = GradeSend.objects.select_for_update().filter(line_item=line_item, identity=identity).first()
        state = GradeSend.HELD if _held(line_item, now) else GradeSend.PENDING
        values = {"score": grade.score, "maximum": grade.maximum, "progress": grade.progress}
        if row is None:
            GradeSend.objects.create(line_item=line_item, identity=identity, changed_at=now, state=state, **values)
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            GradeSend.objects.filter(pk=row.pk).update(changed_at=now, state=state, attempts=0, next_attempt_at=None,
                                                       last_error="", **values)
            changed += 1
        elif row.state == GradeSend.HELD and state == GradeSend.PENDING:
            GradeSend.objects.filter(pk=row.pk).update(state=GradeSend.PENDING)
            changed += 1
    if changed:
        transaction.on_commit(_send_soon)
    return changed


def _send_soon():
    queue("server.lti.tasks.grades_send")


def queue(task: str, args: tuple = ()) -> None:
    try:
        send(task, args, retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is down: the beat's sweep does it later
        log.warning("%s not queued (the beat's sweep will do it): %s", task, exc)


def reconcile(*, now=None) -> int:
    """The beat's job: every enrolled student of every assignment with a line item, recorded again (a due date
    passed, hidden checks revealed, a late policy changed); held rows whose due date passed are released."""
    return sum(reconcile_line_item(line_item, now=now)
               for line_item in LineItem.objects.select_related("assignment__course", "platform"))


def reconcile_line_item(line_item: LineItem, *, now=None) -> int:
    now = now or timezone.now()
    students = line_item.assignment.course.members.filter(enrolments__role=Enrolment.STUDENT,
                                                          lti_identities__issuer=line_item.platform.issuer)
    standings = course_grades.standings([line_item.assignment])  # once for the class, not once per student
    return sum(record(line_item.assignment, student, now=now, standings=standings) for student in students.distinct())


def send_now(line_item: LineItem, *, failed_too: bool = True) -> int:
    """The instructor's click: held rows (and failed ones) of the line item go out."""
    states = [GradeSend.HELD, GradeSend.FAILED] if failed_too else [GradeSend.HELD]
    count = GradeSend.objects.filter(line_item=line_item, state__in=states).update(
        state=GradeSend.PENDING, attempts=0, next_attempt_at=None, last_error="")
    if count:
        transaction.on_commit(_send_soon)
    return count


# -- sending ------------------------------------------------------------------------------------------------------
class GradeServiceError(Exception):
    """The LMS's grade service refused or could not be reached; ``retry`` when trying later may succeed."""

    def __init__(self, message: str, *, retry: bool = False, after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry, self.after, self.status = retry, after, status


class Connector(ServiceConnector):
    """PyLTI1p3's service connector, with the access token kept in the shared cache until it expires (its own is
    one process's, and forgets nothing: an expired token is used until a 401)."""

    def __init__(self, platform: Platform):
        session = requests.Session()
        session.request = _with_timeout(session.request)  # type: ignore[method-assign]
        super().__init__(launch.registration(platform), requests_session=session)
        self.platform = platform

    def _token_key(self, scopes) -> str:
        return f"lti:token:{self.platform.pk}:{' '.join(sorted(scopes))}"

    def get_access_token(self, scopes) -> str:
        key = self._token_key(scopes)
        token = cache.get(key)
        if token:
            return token
        if not launch.url_allowed(self.platform.auth_token_url):
            raise GradeServiceError("the platform's token URL must be HTTPS")
        self._access_tokens.clear()
        token = super().get_access_token(scopes)
        cache.set(key, token, self._lifetime)
        return token

    _lifetime = 3000  # an hour less a margin, unless the token response says otherwise (see request())

    def forget_token(self, scopes):
        cache.delete(self._token_key(scopes))
        self._access_tokens.clear()

    def request(self, scopes, url: str, *, post=None, params=None, content_type="application/json",
                accept="application/json"):
        """One call of the grade service: the JSON body it answered; GradeServiceError otherwise."""
        return self.page(scopes, url, post=post, params=params, content_type=content_type, accept=accept)["body"]

    def page(self, scopes, url: str, *, post=None, params=None, content_type="application/json",
             accept="application/json") -> dict:
        """One call of a service: ``{"body", "next_page_url", "headers"}`` (the next page from its Link header);
        GradeServiceError otherwise."""
        if not launch.url_allowed(url):
            raise GradeServiceError(f"the grade service's URL is not HTTPS: {url}")
        if params:
            url += ("&" if "?" in url else "?") + "&".join(f"{k}={requests.utils.quote(str(v))}" for k, v in
                                                           params.items())
        for attempt in (1, 2):
            try:
                answer = self.make_service_request(scopes, url, is_post=post is not None,
                                                   data=json.dumps(post) if post is not None else None,
                                                   content_type=content_type, accept=accept,
                                                   case_insensitive_headers=True)
                # PyLTI1p3 lower-cases the Link header before reading the next page's URL from it, which breaks a
                # URL with capitals (a paging token): read it here as it came.
                found = NEXT_LINK.search(answer["headers"].get("Link", "") or "")
                return {**answer, "next_page_url": found.group(1) if found else None}
            except LtiServiceException as exc:
                response = exc.response
                if response.status_code == 401 and attempt == 1:
                    self.forget_token(scopes)  # expired or revoked: one new token, then the verdict
                    continue
                raise _service_error(response) from None
            except requests.RequestException as exc:
                raise GradeServiceError(f"the LMS could not be reached: {exc}", retry=True) from None
        raise AssertionError("unreachable")


def _with_timeout(request):
    def call(method, url, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_S)
        return request(method, url, **kwargs)
    return call


FIXES = {
    400: "the LMS refused the score as malformed",
    401: "the LMS refused Bellman's access token: check the client id and that Bellman's keyset URL "
         "(/lti/jwks/) is registered in the LMS",
    403: "the LMS does not let Bellman send grades: enable the Assignment and Grade Services (score scope) for "
         "the tool in the LMS",
    404: "the LMS no longer has this gradebook column (deleted?): open the assignment's settings in the LMS, or "
         "launch Bellman again from it so that a new one is made",
    422: "the LMS refused the score (is the student still enrolled in the LMS course?)",
}


def _service_error(response) -> GradeServiceError:
    status = response.status_code
    text = (response.text or "")[:300]
    if status == 429 or status >= 500:
        return GradeServiceError(f"the LMS answered {status}: {text}", retry=True, status=status,
                                 after=_retry_after(response.headers.get("Retry-After")))
    fix = FIXES.get(status, "the LMS refused the request")
    return GradeServiceError(f"{fix} ({status}: {text})", status=status)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 ... minutes, at most an hour, between attempts."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def send_due(*, now=None, limit: int = 500) -> dict:
    """Send the rows that are due, each claimed before it is sent (two senders never send the same row)."""
    now = now or timezone.now()
    counts = {"sent": 0, "retried": 0, "failed": 0}
    GradeSend.objects.filter(state=GradeSend.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        state=GradeSend.PENDING)
    due = GradeSend.objects.filter(state=GradeSend.PENDING).exclude(next_attempt_at__gt=now)
    connectors: dict[int, Connector] = {}
    for pk in list(due.order_by("changed_at", "id").values_list("id", flat=True)[:limit]):
        if not GradeSend.objects.filter(pk=pk, state=GradeSend.PENDING).update(state=GradeSend.SENDING,
                                                                               claimed_at=timezone.now()):
            continue
        row = GradeSend.objects.select_related("line_item__platform", "identity").get(pk=pk)
        platform = row.line_item.platform
        connector = connectors.setdefault(platform.pk, Connector(platform))
        score = {"userId": row.identity.subject, "timestamp": row.changed_at.isoformat(),
                 "activityProgress": "Completed", "gradingProgress": row.progress}
        if row.score is not None:
            score |= {"scoreGiven": row.score, "scoreMaximum": row.maximum}
        try:
            connector.request([SCOPE_SCORE], row.line_item.url.split("?")[0].rstrip("/") + "/scores", post=score,
                              content_type=SCORE_TYPE)
        except Exception as exc:  # noqa: BLE001 - one row's fault (an LMS's odd answer) never stops the others
            if not isinstance(exc, GradeServiceError):
                log.exception("grade %s: unexpected fault while sending", row.pk)
                exc = GradeServiceError(f"the LMS's answer could not be used: {type(exc).__name__}", retry=True)
            attempts = row.attempts + 1
            if exc.retry:
                wait = max(backoff(attempts), timedelta(seconds=exc.after or 0))
                _finish(row, state=GradeSend.PENDING, attempts=attempts, last_error=str(exc)[:2000],
                        next_attempt_at=timezone.now() + wait)
                counts["retried"] += 1
            else:
                _finish(row, state=GradeSend.FAILED, attempts=attempts, last_error=str(exc)[:2000])
                counts["failed"] += 1
                log.warning("grade %s for %s failed: %s", row.pk, row.identity.subject, exc)
        else:
            _finish(row, state=GradeSend.SENT, attempts=row.attempts + 1, last_error="", sent_at=timezone.now(),
                    sent_version=row.changed_at)
            counts["sent"] += 1
    return counts


def _finish(row: GradeSend, **fields) -> None:
    """The outcome of sending ``row`` as it was claimed; a score that changed meanwhile stays pending."""
    updated = GradeSend.objects.filter(pk=row.pk, changed_at=row.changed_at, state=GradeSend.SENDING).update(**fields)
    if not updated:
        GradeSend.objects.filter(pk=row.pk, state=GradeSend.SENDING).update(state=GradeSend.PENDING)


# -- for the instructor's dashboard ------------------------------------------------------------------------------------
def summary(assignment: Assignment) -> list[dict]:
    """Per LMS gradebook column of the assignment: its send policy, how many grades are sent, pending, held and
    failed, and each failure with what to fix."""
    out = []
    for line_item in LineItem.objects.filter(assignment=assignment).select_related("platform"):
        rows = list(line_item.sends.select_related("identity__user"))
        counts = {state: sum(1 for r in rows if r.state == state) for state, _ in GradeSend.STATES}
        counts[GradeSend.PENDING] += counts.pop(GradeSend.SENDING)
        out.append({"line_item": line_item, "counts": counts,
                    "failures": [{"student": r.identity.user.get_username(), "error": r.last_error}
                                 for r in rows if r.state == GradeSend.FAILED]})
    return out
