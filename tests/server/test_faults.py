"""Faults caused for real, each ending with every submission graded or in error with a reason, one final
report each and no sandbox left running: Redis down during an upload, Redis restarted empty, a worker
killed with SIGKILL mid-grade, a pool child killed. A Redis, workers and celery beat of the test's own."""
import os
import signal
import subprocess
import time

import pytest
from django.urls import reverse

from server.submissions.models import GradingRun, Submission
from tests.conftest import EXAMPLES, RUN_TAG, broker_use
from tests.server.services import Services

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
SLOW_START = "import time as _bellman_t\n_bellman_t.sleep(4)\n"  # a grading long enough to be interrupted


@pytest.fixture
def services(redis_server, settings, tmp_path):
    previous = broker_use(redis_server.url, settings)
    found = Services(redis_server.url, tmp_path)
    yield found
    found.stop()
    broker_use(previous, settings)


def upload(client, assignment, data: bytes, name="solution.py"):
    import io

    f = io.BytesIO(data)
    f.name = name
    return client.post(reverse("assignment", args=[assignment.course.slug, assignment.slug]), {"file": f})


def wait_until(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(message + " (see var/test/fault-*.log)")


def all_finished(*ids):
    return lambda: set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True)) <= {"graded", "error"}


def assert_one_final_report_each(*ids):
    for pk in ids:
        finals = GradingRun.objects.filter(submission_id=pk, outcome__in=["graded", "error"]).count()
        assert (pk, finals) == (pk, 1)


def assert_no_sandbox_left(tag=RUN_TAG):
    import docker

    try:
        client = docker.from_env(timeout=10)
    except docker.errors.DockerException:
        return
    wait_until(lambda: not client.containers.list(filters={"label": f"bellman.tag={tag}"}), 90,
               "sandboxes left running")


def test_an_upload_while_redis_is_down_is_kept_and_graded_when_it_is_back(client, alice, assignment, redis_server,
                                                                         services):
    client.force_login(alice)
    redis_server.stop()
    response = upload(client, assignment, (EXAMPLES / "passes_all.py").read_bytes())
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.status == Submission.QUEUED
    assert "grading will start shortly" in client.get(response.url).content.decode()
    redis_server.start()
    services.worker("w1")
    services.beat()
    wait_until(all_finished(submission.pk), 150, "the upload made while Redis was down was not graded")
    assert Submission.objects.get().status == Submission.GRADED
    assert_one_final_report_each(submission.pk)


class ClosingBroker:
    """A TCP port that takes each connection and closes it at once, counting them: a broker that is down."""

    def __init__(self):
        import socket
        import threading

        self.attempts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.attempts += 1
            conn.close()

    def close(self):
        self.listener.close()


def test_an_upload_while_the_broker_is_down_is_answered_after_two_attempts_not_kombu_s_retries(
        client, alice, assignment, settings):
    """The student's request does not wait out kombu's connection retries (seconds of them): two attempts, then
    the upload is kept for the sweeper."""
    broker = ClosingBroker()
    previous = broker_use(broker.url, settings)
    try:
        client.force_login(alice)
        response = upload(client, assignment, (EXAMPLES / "passes_all.py").read_bytes())
    finally:
        broker_use(previous, settings)
        broker.close()
    assert response.status_code == 302
    assert Submission.objects.get().status == Submission.QUEUED
    assert broker.attempts <= 2


def test_submissions_waiting_when_redis_restarts_empty_are_graded(client, alice, bob, assignment, redis_server,
                                                                 services):
    import redis

    ids = []
    for who in (alice, bob):
        client.force_login(who)
        upload(client, assignment, (EXAMPLES / "passes_all.py").read_bytes())
        ids.append(Submission.objects.get(student=who).pk)
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 2
    redis_server.stop()
    redis_server.start()  # empty: no persistence
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 0
    services.worker("w1")
    services.beat()
    wait_until(all_finished(*ids), 200, "submissions lost with Redis were not graded")
    assert set(Submission.objects.values_list("status", flat=True)) == {"graded"}
    assert_one_final_report_each(*ids)


def _running_on(pk, name):
    return lambda: Submission.objects.filter(pk=pk, status="running", current_run__worker__startswith=name).exists()


def test_a_worker_killed_mid_grade_is_replaced_and_the_submission_graded_once(client, alice, assignment, services):
    first = services.worker("doomed")
    services.beat()
    client.force_login(alice)
    upload(client, assignment, SLOW_START.encode() + (EXAMPLES / "passes_all.py").read_bytes())
    submission = Submission.objects.get()
    wait_until(_running_on(submission.pk, "doomed"), 60, "the first worker never started grading")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    services.worker("rescuer")
    wait_until(all_finished(submission.pk), 240, "the submission of the killed worker was not graded")
    submission.refresh_from_db()
    assert submission.status == Submission.GRADED
    assert submission.current_run.worker.startswith("rescuer")
    assert_one_final_report_each(submission.pk)
    assert_no_sandbox_left()


def test_a_killed_pool_child_ends_in_a_graded_submission(client, alice, assignment, services):
    parent = services.worker("prefork", pool="prefork")
    services.beat()
    client.force_login(alice)
    upload(client, assignment, SLOW_START.encode() + (EXAMPLES / "passes_all.py").read_bytes())
    submission = Submission.objects.get()
    wait_until(_running_on(submission.pk, "prefork"), 60, "the worker never started grading")
    children = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True).stdout.split()
    assert children, "the prefork worker has no pool child"
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    wait_until(all_finished(submission.pk), 240, "the submission of the killed pool child was not graded")
    assert Submission.objects.get().status == Submission.GRADED
    assert_one_final_report_each(submission.pk)
    assert_no_sandbox_left()


def test_two_workers_on_separate_hosts_share_the_queue_and_grade_nothing_twice(client, course, assignment, services):
    from tests.server.factories import student

    services.worker("host-a", BELLMAN_SANDBOX_TAG=f"{RUN_TAG}-a")
    services.worker("host-b", BELLMAN_SANDBOX_TAG=f"{RUN_TAG}-b")
    ids = []
    for i in range(6):
        client.force_login(student(course, f"batch{i}"))
        upload(client, assignment, (EXAMPLES / "passes_all.py").read_bytes())
        ids.append(Submission.objects.latest("pk").pk)
    wait_until(all_finished(*ids), 300, "the batch was not graded")
    hosts = {w.split("-")[0] + "-" + w.split("-")[1] for w in
             Submission.objects.filter(pk__in=ids).values_list("current_run__worker", flat=True)}
    assert hosts == {"host-a", "host-b"}
    assert set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"graded"}
    assert_one_final_report_each(*ids)
    assert_no_sandbox_left(f"{RUN_TAG}-a")
    assert_no_sandbox_left(f"{RUN_TAG}-b")


def test_unit_checks_are_graded_while_trainings_wait_in_their_own_queue(client, course, assignment, services):
    from tests.server.factories import student

    services.worker("units", queues="celery")
    ids = []
    for i in range(3):
        client.force_login(student(course, f"queue{i}"))
        upload(client, assignment, (EXAMPLES / "wrong_no_learning_rate.py").read_bytes())
        ids.append(Submission.objects.latest("pk").pk)
    waiting = lambda: Submission.objects.filter(pk__in=ids, phase=Submission.TRAINING_QUEUED).count() == 3  # noqa: E731
    wait_until(waiting, 120, "the unit checks were not graded while no trainer ran")
    assert all(Submission.objects.get(pk=pk).check_results.filter(check_id="q_update", mistake="alpha_missing").exists()
               for pk in ids)
    services.worker("trainer", queues="training")
    wait_until(all_finished(*ids), 240, "the trainings were not graded")
    assert set(Submission.objects.filter(pk__in=ids).values_list("score", flat=True)) == {70.0}
    assert_one_final_report_each(*ids)
