"""Shared fixtures: settings for tests, sandbox backends, personas, a real Redis and Celery worker."""
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("BELLMAN_VAR_DIR", ROOT / "var"))

EXAMPLES = ROOT / "assignments" / "qlearning-cliffwalking" / "examples"
BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("bwrap", marks=pytest.mark.bwrap)]


def sandbox_backend(name):
    """The named backend, failing (not skipping) when it is missing: `make test` must test both."""
    from django.conf import settings

    from sandbox import get_backend

    backend = get_backend(name, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    if not backend.available():
        pytest.fail(f"the {name} sandbox backend is not available here: run `make setup` "
                    "(or deselect with -m 'not {name}')")
    return backend


def container_is_gone(backend, container_id) -> bool:
    import docker

    try:
        backend.client.containers.get(container_id)
    except docker.errors.NotFound:
        return True
    return False


# This run's sandboxes carry a tag of their own (worker and CLI subprocesses inherit it), so that the
# check below is not confused by another run, or a demo, on the same Docker Engine.
RUN_TAG = os.environ.setdefault("BELLMAN_SANDBOX_TAG", f"test-{os.getpid()}-{int(time.time())}")


@pytest.fixture(scope="session", autouse=True)
def no_sandbox_outlives_the_suite():
    """Every container this test run creates is removed by the time it ends."""
    yield
    try:
        import docker

        client = docker.from_env(timeout=10)
        left = client.containers.list(all=True, filters={"label": f"bellman.tag={RUN_TAG}"})
    except Exception:  # noqa: BLE001 - no engine: nothing to check
        return
    assert not left, f"sandbox containers left behind by this test run: {[c.name for c in left]}"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return sandbox_backend(request.param)


@pytest.fixture
def grading_config(backend):
    from grader.pipeline import GradingConfig

    return GradingConfig(backend=backend, parallel_runs=2)


# -- personas ------------------------------------------------------------------------------------
@pytest.fixture
def course(db):
    from server.courses.models import Assignment, Course

    course = Course.objects.create(slug="rl", title="Reinforcement Learning")
    Assignment.objects.create(course=course, slug="qlearning-cliffwalking", title="Q-learning warm-up")
    return course


def _user(course, username, role):
    from django.contrib.auth import get_user_model

    from server.courses.models import Enrolment

    user = get_user_model().objects.create_user(username=username, password="pw-" + username + "-123",
                                                email=f"{username}@uni.example")
    if role:
        Enrolment.objects.create(course=course, user=user, role=role)
    return user


@pytest.fixture
def alice(course):
    """A student of the course."""
    return _user(course, "alice", "student")


@pytest.fixture
def bob(course):
    """Another student of the course."""
    return _user(course, "bob", "student")


@pytest.fixture
def irene(course):
    """The course's instructor."""
    return _user(course, "irene", "instructor")


@pytest.fixture
def charlie(course):
    """Logged in, but not enrolled in the course: gets 403."""
    return _user(course, "charlie", None)


@pytest.fixture
def assignment(course):
    return course.assignments.get(slug="qlearning-cliffwalking")


# -- real services ------------------------------------------------------------------------------
def broker_use(url: str, settings) -> str:
    """Point the Celery app (of this test process) at ``url``; returns the previous URL. The app keeps a
    pool of connections to the broker it first published to (the unreachable default of the tests, if
    an earlier test queued something), so the pools are dropped too."""
    from server.celery import app

    previous = app.conf.broker_url
    settings.CELERY_BROKER_URL = app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    return previous


def database_url() -> str:
    """The test database as a DATABASE_URL, for the worker processes a test starts."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(argv: list[str], *, env: dict, ready_url: str):
    """A server process of the project's (``argv``, from the project's root), once ``ready_url`` answers (any HTTP
    status); stopped, with whatever it started, when the block ends."""
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(ready_url, timeout=10)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except (urllib.error.URLError, OSError):  # not listening yet, or still starting its workers
                time.sleep(0.2)
        yield proc
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis server on a loopback port of its own, stopped at the end."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed: run `make setup`")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def celery_worker(redis_url, transactional_db, settings):
    """A real Celery worker process on the test Redis and the test database."""

    previous = broker_use(redis_url, settings)
    env = {**os.environ, "REDIS_URL": redis_url,
           "DATABASE_URL": database_url()}
    env.pop("BELLMAN_TEST_DATABASE", None)
    env.pop("BELLMAN_TEST_POSTGRES_URL", None)  # the worker uses DATABASE_URL, the test database
    log = open(VAR / "test" / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "server.celery", "worker", "--pool", "solo",
                             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                             "--queues", "celery,training,mail,lti",
                             "--hostname", f"test-{os.getpid()}@%h"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    broker_use(previous, settings)


# -- a browser ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run (starting one costs seconds)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        pytest.fail("chromium and chromedriver are not installed: run `make setup`")
    import tempfile

    profile = tempfile.mkdtemp(prefix="bellman-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1200,1600",
                # The LTI test's two sites on loopback under names of their own (an LMS and Bellman, both over
                # HTTPS with the test's self-signed certificate); no other test uses these names.
                "--host-resolver-rules=MAP lms.test 127.0.0.1, MAP bellman.test 127.0.0.1",
                "--ignore-certificate-errors"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver), options=options)
    drv.implicitly_wait(2)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(chromium, live_server):
    """The shared browser, logged out: each test starts with no cookies."""
    chromium.get(live_server.url + "/login/")
    chromium.delete_all_cookies()
    return chromium


# -- an SMTP server ---------------------------------------------------------------------------------
@pytest.fixture
def smtp(settings, monkeypatch):
    """A real SMTP server (aiosmtpd) on a loopback port, set as the project's mail host. ``smtp.down()``
    closes the port (connections refused), ``smtp.up()`` opens it again on the same port."""
    from server.notifications.sink import MailSink, start

    sink = MailSink()
    sink.controller = start(sink)
    sink.port = sink.controller.port
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.BELLMAN_MAIL_RATE = "127.0.0.1", sink.port, 0
    # The test environment swaps in Django's in-memory backend; these tests talk SMTP for real.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    for name, value in (("EMAIL_HOST", "127.0.0.1"), ("EMAIL_PORT", str(sink.port)), ("BELLMAN_MAIL_RATE", "0")):
        monkeypatch.setenv(name, value)  # for a worker process started after this fixture

    def down():
        sink.controller.stop()
        sink.controller = None

    def up():
        sink.controller = start(sink, port=sink.port)

    sink.down, sink.up = down, up
    yield sink
    if sink.controller is not None:
        sink.controller.stop()
