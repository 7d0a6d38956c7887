"""manage.py sizing: the number of grading hosts for a deadline, from the course's measured grading times and the
queue now."""
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from server.submissions import sizing
from server.submissions.models import GradingRun, Submission
from tests.server.factories import graded

pytestmark = pytest.mark.django_db


def timed(assignment, student, seconds: float, status=Submission.GRADED):
    submission = graded(assignment, student, score=50, at=timezone.now(), status=status)
    now = timezone.now()
    run = GradingRun.objects.create(submission=submission, attempt=1, outcome="graded", finished_at=now)
    GradingRun.objects.filter(pk=run.pk).update(started_at=now - timedelta(seconds=seconds))
    return submission


def sized(*args) -> dict:
    out = StringIO()
    call_command("sizing", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_grading_time_is_the_median_of_what_was_measured(assignment, alice, bob):
    for who, seconds in ((alice, 10), (bob, 30), (alice, 200)):
        timed(assignment, who, seconds)
    assert sizing.measured_seconds([assignment]) == {assignment.slug: 30}


def test_a_tighter_target_needs_more_hosts(assignment, alice):
    timed(assignment, alice, 60)
    loose, tight = sized("--p95", "3600", "--students", "400"), sized("--p95", "120", "--students", "400")
    assert loose["hosts"] < tight["hosts"]
    assert tight["p95_s"] <= 120


def test_gradings_waiting_now_need_more_hosts(assignment, alice, bob):
    timed(assignment, alice, 60)
    before = sized("--p95", "300", "--students", "50")["hosts"]
    for _ in range(60):
        graded(assignment, bob, score=0, at=timezone.now(), status=Submission.QUEUED)
    after = sized("--p95", "300", "--students", "50")
    assert after["waiting"] == 60
    assert after["hosts"] > before


def test_a_target_of_nothing_is_refused():
    with pytest.raises(CommandError, match="above 0"):
        call_command("sizing", "--p95", "0")
