import io

import pytest
from django.conf import settings
from django.contrib.auth import authenticate as django_authenticate
from django.core.management import call_command
from django.test import RequestFactory

from grader import assignments
from server.courses.models import Course

pytestmark = pytest.mark.django_db


def authenticate(**credentials):
    # django-axes counts attempts by request: authentication always comes with one.
    return django_authenticate(RequestFactory().post("/login/"), **credentials)


def test_the_demo_course_prints_working_log_ins_and_is_idempotent():
    for _ in range(2):
        out = io.StringIO()
        call_command("demo_course", stdout=out)
    course = Course.objects.get(slug="rl-demo")
    # Every assignment folder, whichever there are: adding one needs no change here.
    folders = set(assignments.registry(settings.BELLMAN_ASSIGNMENTS_DIR))
    assert set(course.assignments.values_list("slug", flat=True)) == folders
    assert {"qlearning-cliffwalking", "dqn-cartpole", "reinforce-cartpole", "synthesis-unit6"} <= folders
    logins = dict(line.split()[0::2] for line in out.getvalue().splitlines() if "password:" in line)
    assert set(logins) == {"instructor", "alice", "bob"}
    assert authenticate(username="alice", password=logins["alice"]) is not None
    assert authenticate(username="instructor", password=logins["instructor"]).is_staff
    assert course.role_of(authenticate(username="bob", password=logins["bob"])) == "student"
