"""/metrics scraped as Prometheus does, on a real Redis: who may read it, the queues, the workers' heartbeats, the
counters workers keep (a sandbox that cannot start), the grading histograms, and the dashboard's queue health
agreeing with it."""
from datetime import timedelta

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from grader.errors import InfrastructureError
from server import metrics
from server.dashboard import stats
from server.submissions import grading, services
from server.submissions.models import GradingRun, Submission
from tests.conftest import EXAMPLES, broker_use
from tests.server.factories import graded

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "scrape-me-0123456789"


@pytest.fixture
def broker(redis_url, settings):
    previous = broker_use(redis_url, settings)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    settings.BELLMAN_METRICS_TOKEN = TOKEN
    yield client
    broker_use(previous, settings)


def scrape(client=None) -> dict:
    """The samples of one scrape: {(name, labels as a sorted tuple): value}."""
    response = (client or Client()).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_no_token_no_metrics(broker):
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403


def test_a_course_instructor_is_not_staff_but_a_staff_member_may_read(broker, irene):
    instructor, admin = Client(), Client()
    instructor.force_login(irene)
    admin.force_login(get_user_model().objects.create_user("ops", password="pw-ops-123", is_staff=True))
    assert instructor.get("/metrics").status_code == 403
    assert admin.get("/metrics").status_code == 200


def test_queue_lengths_are_the_broker_s(broker, assignment, alice):
    for _ in range(3):
        submission = graded(assignment, alice, score=0, at=timezone.now(), status=Submission.QUEUED)
        assert services.task_send(submission.pk)
    found = scrape()
    assert found["bellman_queue_length", (("queue", "celery"),)] == 3
    assert found["bellman_queue_length", (("queue", "training"),)] == 0
    assert found["bellman_broker_up", ()] == 1


def test_a_worker_s_heartbeat_makes_it_alive_until_it_expires(broker):
    metrics.beat_once(broker, "units@host-a")
    metrics.beat_once(broker, "trainer@host-b", ttl_s=1)
    assert scrape()["bellman_workers_alive", ()] == 2
    broker.delete(metrics.WORKER_KEY + "trainer@host-b")  # what the expiry does
    assert scrape()["bellman_workers_alive", ()] == 1


def test_a_sandbox_that_cannot_start_is_counted(broker, assignment, alice, settings,
                                                django_capture_on_commit_callbacks):
    settings.SANDBOX_BACKEND = "docker"
    settings.SANDBOX_IMAGE = "bellman-no-such-image:none"
    settings.SANDBOX_ROOTFS = "/nonexistent"
    with django_capture_on_commit_callbacks():
        submission = services.submission_create(assignment=assignment, student=alice, filename="solution.py",
                                                data=(EXAMPLES / "passes_all.py").read_bytes())
    with pytest.raises(InfrastructureError):
        grading.submission_grade(submission_id=submission.pk, final_attempt=False)
    found = scrape()
    assert found["bellman_sandbox_start_failures_total", ()] == 1
    assert found["bellman_gradings_total", (("outcome", "retry"),)] == 1


def test_grading_times_are_histograms_per_assignment(broker, assignment, alice):
    now = timezone.now()
    for took in (3, 40, 400):
        submission = graded(assignment, alice, score=50, at=now - timedelta(seconds=took + 10))
        GradingRun.objects.create(submission=submission, attempt=1, outcome="graded",
                                  finished_at=now).__class__.objects.filter(submission=submission).update(
            started_at=now - timedelta(seconds=took))
    found = scrape()
    label = f"{assignment.course.slug}/{assignment.slug}"
    assert found["bellman_grading_duration_seconds_count", (("assignment", label),)] == 3
    assert found["bellman_grading_duration_seconds_bucket", (("assignment", label), ("le", "60.0"))] == 2
    assert found["bellman_grading_wait_seconds_bucket", (("assignment", label), ("le", "15.0"))] == 3
    assert found["bellman_grading_duration_seconds_sum", (("assignment", label),)] == pytest.approx(443, abs=1)


def test_the_dashboard_s_queue_health_and_the_metrics_agree(broker, assignment, alice, bob):
    now = timezone.now()
    for who, status in ((alice, Submission.QUEUED), (bob, Submission.QUEUED), (alice, Submission.RUNNING),
                        (bob, Submission.ERROR)):
        graded(assignment, who, score=0, at=now, status=status, error="the grader could not finish")
    health = stats.health(assignment, now=now)
    found = scrape()
    label = f"{assignment.course.slug}/{assignment.slug}"

    def submissions(status):
        return found.get(("bellman_submissions", (("assignment", label), ("status", status))), 0)

    assert health["queued"] == submissions("queued") + submissions("received")
    assert health["running"] == submissions("running")
    assert sum(n for _, n in health["errors"]) == submissions("error")
