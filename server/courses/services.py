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
        user.is_staff = role == Enrolment.INSTRUCTOR
        user.save()
        Enrolment.objects.update_or_create(course=course, user=user, defaults={"role": role})
        if user.is_staff:
            _grant_submission_view(user)
    for slug, title in assignments:
        Assignment.objects.update_or_create(course=course, slug=slug, defaults={"title": title})
    return {"course": course, "passwords": passwords}


def _grant_submission_view(user):
    from django.contrib.auth.models import Permission

    codenames = ["view_submission", "view_checkresult", "view_gradingrun", "view_assignment", "view_course"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
