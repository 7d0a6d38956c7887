"""Regrades: queued behind new submissions on the real broker, before and after recorded, history kept."""
import html

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from grader.report import Report, ScoredCheck as Result
from server.submissions.grading import claim, report_persist
from server.submissions.models import GradingRun, Regrade
from server.submissions.services import RegradeError, regrade_request, submission_create
from tests.server.factories import graded

pytestmark = pytest.mark.django_db


def regrade_url(assignment):
    return reverse("regrade", args=[assignment.course.slug, assignment.slug])


@pytest.fixture
def broker(redis_url, settings):
    from server.celery import app

    settings.CELERY_BROKER_URL = redis_url
    app.conf.broker_url = redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()


def test_a_regrade_of_an_assignment_with_no_submissions_says_so(client, irene, assignment):
    client.force_login(irene)
    page = html.unescape(client.post(regrade_url(assignment), follow=True).content.decode())
    assert "There is nothing to regrade" in page
    assert not Regrade.objects.exists()


def test_a_regrade_queues_each_counting_submission_once(irene, alice, bob, assignment,
                                                       django_capture_on_commit_callbacks):
    graded(assignment, alice, score=10, at=timezone.now())
    latest = graded(assignment, alice, score=20, at=timezone.now())
    other = graded(assignment, bob, score=30, at=timezone.now())
    with django_capture_on_commit_callbacks():
        regrade = regrade_request(assignment=assignment, by=irene)
    assert sorted(regrade.items.values_list("submission_id", flat=True)) == sorted([latest.pk, other.pk])


def test_a_student_whose_only_submission_failed_is_regraded_too(irene, alice, assignment,
                                                                 django_capture_on_commit_callbacks):
    failed = graded(assignment, alice, score=0, at=timezone.now(), status="error", error="worker lost")
    with django_capture_on_commit_callbacks():
        regrade = regrade_request(assignment=assignment, by=irene)
    assert list(regrade.items.values_list("submission_id", flat=True)) == [failed.pk]


def test_regrades_wait_behind_new_submissions_on_the_broker(broker, irene, alice, bob, assignment,
                                                            django_capture_on_commit_callbacks):
    graded(assignment, alice, score=10, at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        regrade_request(assignment=assignment, by=irene)
    with django_capture_on_commit_callbacks(execute=True):
        submission_create(assignment=assignment, student=bob, filename="s.py", data=b"x = 1\n")
    # Redis keeps one list per priority step; a worker reads "celery" (new submissions) before "celery:6".
    assert (broker.llen("celery"), broker.llen("celery:6")) == (1, 1)


def test_a_pending_submission_is_not_regraded(irene, alice, assignment):
    pending = graded(assignment, alice, score=0, at=timezone.now(), status="queued")
    with pytest.raises(RegradeError, match="still being graded"):
        regrade_request(assignment=assignment, by=irene, submission=pending)


def _grade_again(submission, score):
    """What the worker does once the pipeline has a report: store it (the pipeline itself is tested elsewhere)."""
    run = claim(submission.pk)
    report = Report(assignment=submission.assignment.slug, max_score=100.0)
    report.add(Result(id="learning_curve", status="passed", score=score, max_score=100.0, feedback="ok"))
    report_persist(submission, run, report)


def test_a_finished_regrade_records_the_score_before_and_after(irene, alice, assignment,
                                                              django_capture_on_commit_callbacks):
    submission = graded(assignment, alice, score=100, at=timezone.now())
    with django_capture_on_commit_callbacks():
        regrade = regrade_request(assignment=assignment, by=irene)
    _grade_again(submission, 60)
    item = regrade.items.get()
    assert (item.score_before, item.score_after, item.changed) == (100, 60, True)


def test_the_earlier_report_stays_in_the_history(irene, alice, assignment, django_capture_on_commit_callbacks):
    submission = graded(assignment, alice, score=100, at=timezone.now())
    GradingRun.objects.create(submission=submission, attempt=1, score=100, report=submission.report)
    with django_capture_on_commit_callbacks():
        regrade_request(assignment=assignment, by=irene)
    _grade_again(submission, 60)
    assert list(submission.runs.order_by("pk").values_list("score", flat=True)) == [100, 60]


def test_the_dashboard_shows_the_progress_and_the_changed_scores(client, irene, alice, bob, assignment,
                                                               django_capture_on_commit_callbacks):
    changed = graded(assignment, alice, score=100, at=timezone.now())
    graded(assignment, bob, score=50, at=timezone.now())
    client.force_login(irene)
    with django_capture_on_commit_callbacks():
        client.post(regrade_url(assignment))
    _grade_again(changed, 60)
    dashboard = reverse("dashboard", args=[assignment.course.slug, assignment.slug])
    page = html.unescape(client.get(dashboard).content.decode())
    assert 'data-done="1" data-total="2"' in page
    assert "alice (" in page
    assert "100.0 → 60.0" in page


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_a_regrade_is_403_for_a_student_and_an_outsider(client, request, assignment, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post(regrade_url(assignment)).status_code == 403


def test_an_instructor_regrades_one_submission_from_its_page(client, irene, alice, assignment,
                                                             django_capture_on_commit_callbacks):
    submission = graded(assignment, alice, score=40, at=timezone.now())
    client.force_login(irene)
    assert 'id="regrade-one"' in client.get(submission.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks():
        client.post(regrade_url(assignment), {"submission": submission.pk})
    submission.refresh_from_db()
    assert (submission.status, Regrade.objects.get().scope) == ("queued", f"submission {submission.pk}")


def test_a_student_sees_no_regrade_button(client, alice, assignment):
    submission = graded(assignment, alice, score=40, at=timezone.now())
    client.force_login(alice)
    assert 'id="regrade-one"' not in client.get(submission.get_absolute_url()).content.decode()
