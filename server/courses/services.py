"""Course workflows."""
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from server.courses.models import Assignment, Course, Enrolment


@transaction.atomic
def demo_course_create(*, assignments: list[tuple[str, str]]) -> dict:
    """Create (or refresh) the demo course: an instructor and two students with new passwords.

    Returns ``{"course": Course, "passwords": {username: password}}``.
    """
    course, _ = Course.objects.update_or_create(slug="rl-demo", defaults={"title": "Reinforcement Learning (demo)"})
    User = get_user_model()
    passwords = {}
    for username, role in (("instructor", Enrolment.INSTRUCTOR), ("alice", Enrolment.STUDENT),
                           ("bob", Enrolment.STUDENT)):
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        passwords[username] = secrets.token_urlsafe(9)
        user.set_password(passwords[username])
        user.save()
        enrolment_set(course=course, user=user, role=role)
    for slug, title in assignments:
        Assignment.objects.update_or_create(course=course, slug=slug, defaults={"title": title})
    return {"course": course, "passwords": passwords}


@transaction.atomic
def enrolment_set(*, course: Course, user, role: str) -> Enrolment:
    """Enrol ``user`` in ``course`` as ``role``. An instructor gets into the admin, where they can
    view (not change) the submissions of the courses they teach."""
    enrolment, _ = Enrolment.objects.update_or_create(course=course, user=user, defaults={"role": role})
    if role == Enrolment.INSTRUCTOR:
        instructor_access_grant(user=user)
    return enrolment


def instructor_access_grant(*, user) -> None:
    from django.contrib.auth.models import Permission

    codenames = ["view_submission", "view_checkresult", "view_gradingrun", "view_assignment", "view_course"]
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
