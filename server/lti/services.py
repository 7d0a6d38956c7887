"""What a valid launch does: the account (issuer, subject), the course the LMS context is linked to, the
enrolment with the role the LMS gives, and where the user lands."""
import hashlib
import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.text import slugify

from server.courses.models import Course, Enrolment
from server.errors import Refused
from server.lti.launch import CLAIM, LaunchRefused
from server.lti.models import ContextLink, Identity, Platform
from server.submissions.models import Submission

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
# Context (membership) roles only: a role at the institution (a site administrator) says nothing of this course.
INSTRUCTOR_ROLES = {ROLE + "Instructor", ROLE + "Administrator", ROLE + "ContentDeveloper"}
LEARNER_ROLES = {ROLE + "Learner"}
# A teaching assistant: the specification's sub-role of Instructor, or the context role some LMSs send.
TA_ROLES = {"http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            ROLE + "TeachingAssistant"}
# The LMS's test student ("Student view" in Canvas): a preview student, never counted.
TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"


def role_of(roles: list) -> str | None:
    """Bellman's role for the LMS's roles in the context: instructor, ta, student, or None (no role Bellman
    has). A teaching assistant is a TA even when the LMS also sends Instructor (the sub-role names it)."""
    roles = [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
    given = set(roles)
    # Short role names ("Instructor") are allowed by the specification for context roles.
    given |= {ROLE + r for r in roles or [] if isinstance(r, str) and "#" not in r and "/" not in r}
    if given & TA_ROLES:
        return Enrolment.TA
    if given & INSTRUCTOR_ROLES:
        return Enrolment.INSTRUCTOR
    if given & LEARNER_ROLES:
        return Enrolment.STUDENT
    return None


def is_test_user(roles) -> bool:
    return isinstance(roles, list) and TEST_USER in roles


@transaction.atomic
def account(platform: Platform, body: dict):
    """The user of (issuer, subject); made at the first launch. E-mail and name are optional and only shown: an
    account is never matched by them."""
    subject = str(body.get("sub") or "")
    if not subject:
        raise LaunchRefused("The launch names no user (sub): anonymous launches are not supported.")
    identity = Identity.objects.select_related("user").filter(issuer=platform.issuer, subject=subject).first()
    User = get_user_model()
    if identity is None:
        digest = hashlib.sha256(f"{platform.issuer}\n{subject}".encode()).hexdigest()[:12]
        user = User.objects.create_user(username=f"lti-{digest}", password=None)
        try:
            with transaction.atomic():
                identity = Identity.objects.create(user=user, issuer=platform.issuer, subject=subject)
        except IntegrityError:  # another launch of the same person made it meanwhile
            user.delete()
            identity = Identity.objects.select_related("user").get(issuer=platform.issuer, subject=subject)
    user = identity.user
    changed = {field: str(body[claim])[:150] for field, claim in (("email", "email"), ("first_name", "given_name"),
                                                                  ("last_name", "family_name"))
               if body.get(claim) and getattr(user, field) != str(body[claim])[:150]}
    if changed:
        User.objects.filter(pk=user.pk).update(**changed)
        for field, value in changed.items():
            setattr(user, field, value)
    return user


def _new_course_slug(title: str) -> str:
    base = slugify(title)[:40].strip("-") or "course"
    slug, n = base, 1
    while Course.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def course_for(platform: Platform, body: dict, role: str) -> Course:
    """The Bellman course linked to the launch's context. The first instructor to launch from a context links
    it (to a new course named after it); a student launching from a context not linked yet is told to wait."""
    context = body.get(CLAIM + "context")
    context = context if isinstance(context, dict) else {}
    context_id = str(context.get("id") or "")[:255]
    if not context_id:
        raise LaunchRefused("The launch has no course context: open Bellman from a course in the LMS.")
    link = ContextLink.objects.select_related("course").filter(platform=platform, context_id=context_id).first()
    if link is not None:
        return link.course
    if role != Enrolment.INSTRUCTOR:
        raise LaunchRefused("This LMS course is not linked to a Bellman course yet: your instructor links it by "
                            "opening Bellman from the course once.", status=403)
    title = str(context.get("title") or context.get("label") or "Course")[:200]
    course = Course.objects.create(slug=_new_course_slug(str(context.get("label") or title)), title=title)
    ContextLink.objects.create(platform=platform, context_id=context_id, title=title, course=course)
    return course


def enrol(course: Course, user, role: str, *, preview: bool = False) -> Enrolment:
    """The user's enrolment in the course, with the role the LMS gives now (an LMS is where roles change);
    ``preview``: the LMS's test student, a student never counted in statistics or the gradebook."""
    enrolment, _ = Enrolment.objects.update_or_create(course=course, user=user, defaults={
        "role": role, "active": True, "preview": preview and role == Enrolment.STUDENT})
    return enrolment


ASSIGNMENT_PARAM = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def landing(course: Course, body: dict) -> str:
    """Where the launch takes the user: the assignment the LMS link names (its custom parameter ``assignment``),
    else the course's page."""
    custom = body.get(CLAIM + "custom") or {}
    slug = str(custom.get("assignment") or "") if isinstance(custom, dict) else ""
    if ASSIGNMENT_PARAM.match(slug) and course.assignments.filter(slug=slug).exists():
        return reverse("assignment", args=[course.slug, slug])
    return course.get_absolute_url()


# -- an account of the CSV import and the same student's LMS account ------------------------------------------------
class MergeRefused(Refused):
    """A merge the instructor asked for that would lose or mix someone's work."""


def merge_candidates(course: Course) -> list[tuple]:
    """Pairs (LMS account, CSV account) of the course's members that share an e-mail address: offered to the
    instructor, never merged by themselves (an address can change hands: docs/lti.md)."""
    members = list(course.members.filter(enrolments__course=course).distinct())
    from_lms = set(Identity.objects.filter(user__in=members).values_list("user", flat=True))
    csv_by_email = {}
    for user in members:
        if user.pk not in from_lms and user.email:
            csv_by_email.setdefault(user.email.lower(), []).append(user)
    pairs = []
    for user in members:
        if user.pk in from_lms and user.email and len(csv_by_email.get(user.email.lower(), [])) == 1:
            pairs.append((user, csv_by_email[user.email.lower()][0]))
    return pairs


@transaction.atomic
def merge(course: Course, lms_user, csv_user) -> None:
    """The instructor's merge: the LMS account's identities move to the CSV account (LMS launches sign in as it,
    with its history), and the LMS account, which has no work of its own, is closed."""
    if course.role_of(lms_user) is None or course.role_of(csv_user) is None:
        raise MergeRefused("Both accounts must be members of this course.")
    if not Identity.objects.filter(user=lms_user).exists():
        raise MergeRefused(f"{lms_user.get_username()} did not come from the LMS.")
    if Identity.objects.filter(user=csv_user).exists():
        raise MergeRefused(f"{csv_user.get_username()} already has an LMS account: nothing is merged.")
    if Submission.objects.filter(student=lms_user).exists():
        raise MergeRefused(f"{lms_user.get_username()} has submissions of its own: nothing is merged, so that no "
                           "work is mixed up (the student keeps using one of the two accounts).")
    Identity.objects.filter(user=lms_user).update(user=csv_user)
    for enrolment in Enrolment.objects.filter(user=lms_user):
        if not Enrolment.objects.filter(user=csv_user, course=enrolment.course).exists():
            Enrolment.objects.create(user=csv_user, course=enrolment.course, role=enrolment.role,
                                     preview=enrolment.preview)
    Enrolment.objects.filter(user=lms_user).delete()
    Enrolment.objects.filter(user=csv_user, course=course).update(active=True)
    lms_user.is_active = False
    lms_user.save(update_fields=["is_active"])
