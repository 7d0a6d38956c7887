"""/metrics scraped by a real Prometheus (Debian's package) and parsed as Prometheus parses it, on a real Redis:
who may read it, the queues, the workers' heartbeats, the counters workers keep (a sandbox that cannot start), the
grading histograms, and the dashboard's queue health agreeing with it."""
import json
import socket
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from grader.errors import InfrastructureError
from server import celery, metrics
from server.dashboard import stats
from server.submissions import grading, services
from server.submissions.models import GradingRun, Submission
from tests.conftest import EXAMPLES, broker_use, free_port
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


def test_a_worker_s_host_is_its_machine_s_name_whatever_its_nodename(broker):
    """The docker sweep removes the sandboxes of hosts that stopped heart-beating: a live worker named after
    something else than its machine (``--hostname worker-%h`` makes celery@worker-<host>) must still keep its
    machine's sandboxes."""
    metrics.beat_once(broker, f"celery@worker-{socket.gethostname()}")
    metrics.beat_once(broker, "trainer@grading-host-2", host="grading-host-2")
    assert celery.live_hosts() == {socket.gethostname(), "grading-host-2"}


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


@pytest.fixture
def prometheus(tmp_path):
    """A Prometheus server of the test's own on loopback (Debian's package), given a scrape config to load."""
    procs = []

    def start(targets: list[str], token: str):
        port = free_port()
        (tmp_path / "prometheus.yml").write_text(textwrap.dedent(f"""\
            global:
              scrape_interval: 10s
              scrape_timeout: 10s
            scrape_configs:
              - job_name: bellman
                metrics_path: /metrics
                authorization:
                  credentials: {token}
                static_configs:
                  - targets: {json.dumps(targets)}
            """))
        log = open(tmp_path / "prometheus.log", "w")
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT))
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)


def prometheus_api(base: str, path: str, **params) -> dict:
    with urllib.request.urlopen(f"{base}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout=5) as response:
        return json.load(response)["data"]


def scraped_target(base: str) -> dict:
    """The bellman target once Prometheus has scraped it at least once."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            targets = prometheus_api(base, "targets")["activeTargets"]
        except OSError:
            targets = []
        if targets and targets[0]["health"] != "unknown":
            return targets[0]
        time.sleep(0.5)
    raise AssertionError("Prometheus did not scrape Bellman within 60 s")


def test_prometheus_scrapes_the_endpoint_with_the_token(broker, assignment, alice, live_server, prometheus):
    for _ in range(2):
        submission = graded(assignment, alice, score=0, at=timezone.now(), status=Submission.QUEUED)
        assert services.task_send(submission.pk)
    metrics.beat_once(broker, "units@grading-host-1")
    base = prometheus([live_server.url.removeprefix("http://")], TOKEN)
    target = scraped_target(base)
    assert target["health"] == "up", target["lastError"]

    def value(query: str) -> float:
        result = prometheus_api(base, "query", query=query)["result"]
        assert len(result) == 1, (query, result)
        return float(result[0]["value"][1])

    assert value('bellman_queue_length{job="bellman", queue="celery"}') == 2
    assert value('bellman_workers_alive{job="bellman"}') == 1
    assert value('bellman_submissions{job="bellman", status="queued"}') == 2


def test_prometheus_without_the_token_is_refused(broker, live_server, prometheus):
    base = prometheus([live_server.url.removeprefix("http://")], "not-the-token")
    target = scraped_target(base)
    assert target["health"] == "down"
    assert "403" in target["lastError"]
