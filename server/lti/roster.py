"""The LMS course's roster (LTI Names and Role Provisioning Services): synced at an instructor's launch and by the
beat, following the service's pages. Members become accounts (issuer, subject) enrolled with their role; members
who left (absent, or Inactive or Deleted) are deactivated, never deleted: their work and scores stay. Accounts
made by the CSV import are left alone (no e-mail match: docs/lti.md)."""
import logging

from django.db import transaction
from django.utils import timezone

from server.courses.models import Enrolment
from server.lti import grades, launch, services
from server.lti.models import ContextLink, Identity

log = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 200


def on_launch(platform, body: dict, role: str) -> None:
    """Remember the context's roster endpoint; an instructor's launch syncs the roster (on the queue lti)."""
    claim = body.get(CLAIM) or {}
    url = claim.get("context_memberships_url") if isinstance(claim, dict) else None
    link = ContextLink.objects.filter(platform=platform, context_id=launch.context_id(body)).first()
    if link is None or not url:
        return
    if link.memberships_url != url:
        link.memberships_url = str(url)[:500]
        link.save(update_fields=["memberships_url"])
    if role == Enrolment.INSTRUCTOR:
        link_id = link.pk
        transaction.on_commit(lambda: grades.queue("server.lti.tasks.roster_sync", (link_id,)))


def fetch(link: ContextLink) -> tuple[list[dict], bool]:
    """Every member of the LMS course, every page of the service's answer; and whether the last page was read."""
    connector = grades.Connector(link.platform)
    members, url, pages = [], link.memberships_url, 0
    while url and pages < MAX_PAGES:
        if not launch.url_allowed(url):
            raise grades.GradeServiceError(f"the roster service's URL is not HTTPS: {url}")
        answer = connector.page([SCOPE], url, accept=MEMBERSHIPS)
        body = answer["body"] or {}
        page = body.get("members", []) if isinstance(body, dict) else []
        members += [m for m in page if isinstance(m, dict) and m.get("user_id")] if isinstance(page, list) else []
        url, pages = answer["next_page_url"], pages + 1
    return members, not url


@transaction.atomic
def sync(link: ContextLink) -> dict:
    """Bring the course's LMS members up to date; returns counts (members, enrolled, deactivated)."""
    members, complete = fetch(link)
    present = set()
    counts = {"members": len(members), "enrolled": 0, "deactivated": 0}
    for member in members:
        role = services.role_of(member.get("roles") or [])
        if role is None or member.get("status", "Active") != "Active":
            continue
        user = services.account(link.platform, {"sub": member["user_id"], "email": member.get("email"),
                                                "given_name": member.get("given_name"),
                                                "family_name": member.get("family_name")})
        services.enrol(link.course, user, role, preview=services.is_test_user(member.get("roles")))
        present.add(user.pk)
        counts["enrolled"] += 1
    if complete and present:  # an empty or cut-short roster says nothing of who left
        from_lms = Identity.objects.filter(issuer=link.platform.issuer).values("user")
        counts["deactivated"] = (Enrolment.objects.filter(course=link.course, user__in=from_lms, active=True)
                                 .exclude(user__in=present).update(active=False))
    link.roster_synced_at = timezone.now()
    link.save(update_fields=["roster_synced_at"])
    return counts


def sync_all() -> int:
    """The beat's job: every linked LMS course that offers its roster."""
    synced = 0
    for link in ContextLink.objects.exclude(memberships_url="").select_related("platform", "course"):
        try:
            sync(link)
            synced += 1
        except grades.GradeServiceError as exc:
            log.warning("roster of %s not synced: %s", link.course, exc)
    return synced
