"""The abuse suite: what a student might do to the grader, on both backends.

Every case must end with a clear outcome (a value the trusted side checks, a StudentCodeError
or a SessionEnded with a verdict), leave nothing running, leak no secret, and leave the
grader able to serve the next submission.
"""
import glob
import json
import os

import pytest

from grader import assignments, pipeline
from grader.errors import SessionEnded, StudentCodeError
from grader.session import Session
from sandbox import Limits
from tests.conftest import BACKENDS, EXAMPLES, ROOT, container_is_gone

CANARY = "canary-7c1e5d-secret"
os.environ["BELLMAN_TEST_CANARY"] = CANARY  # the worker's environment holds a secret the sandbox must not see

ATTACKS = r'''
import os, signal, socket, struct, sys, time

def sleep_long():
    time.sleep(3600)

def fork_bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass

def memory_bomb():
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))

def fill_disk(path):
    written = 0
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"x" * (1 << 20))
                f.flush()
                written += 1
    except OSError as exc:
        return f"{type(exc).__name__} after {written} MB"

def print_100mb():
    chunk = "y" * (1 << 20)
    for _ in range(100):
        print(chunk)

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read(100_000).decode("utf-8", "replace")
    except OSError as exc:
        return type(exc).__name__

def environment():
    return dict(os.environ)

def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__

def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__

def _protocol_fd():
    # The runner's private copy of the protocol channel: the highest open fd that is a pipe or socket.
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2)
    for fd in reversed(fds):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("pipe:", "socket:")):
            return fd

def forge_message():
    body = b'{"op": "score", "score": 100, "passed": true}'
    os.write(_protocol_fd(), struct.pack(">I", len(body)) + body)
    time.sleep(5)
    return "forged"

def forge_garbage():
    os.write(_protocol_fd(), b"\xff\xff\xff\xffnot a frame")
    time.sleep(5)

def kill_parent():
    for pid in (os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.killpg(0, signal.SIGKILL)

def stop_self():
    os.kill(os.getpid(), signal.SIGSTOP)

def close_channel():
    for fd in range(3, 64):
        try:
            os.close(fd)
        except OSError:
            pass
    time.sleep(5)

def nan():
    return float("nan")

def huge():
    return list(range(3_000_000))

def nested():
    value = []
    for _ in range(10_000):
        value = [value]
    return value

def not_json():
    return lambda: 1

class AlwaysEqual(float):
    def __eq__(self, other):
        return True

def always_equal():
    return AlwaysEqual(1.0)

def too_many_files():
    handles = []
    try:
        while True:
            handles.append(open("/work/f%d" % len(handles), "w"))
    except OSError as exc:
        return f"{type(exc).__name__} after {len(handles)} files"
'''


def fresh(backend, **limits):
    session = Session(backend, ATTACKS, Limits(memory_mb=512, **limits), request_timeout=8, session_timeout=60)
    assert session.load() is None
    return session


def nothing_left(backend, session):
    assert not session.dir.exists(), "the staging folder is left behind"
    if backend.name == "docker":
        assert container_is_gone(backend, session.sandbox.container.id)
    else:
        # bwrap is the pid namespace's parent: once it is gone, the kernel has killed everything inside.
        assert session.sandbox.process.poll() is not None
        cgroup = session.sandbox.cgroup
        assert cgroup is None or not any(d.exists() for d in cgroup.dirs)


@pytest.fixture
def attack(backend):
    """Run one attack in a fresh sandbox; after it, the sandbox must be gone without a trace."""
    sessions = []

    def run(fn, *args, timeout=None, **limits):
        session = fresh(backend, **limits)
        sessions.append(session)
        try:
            return session.call(fn, *args, timeout=timeout)
        finally:
            session.close()

    yield run
    for session in sessions:
        nothing_left(backend, session)


def verdict_of(call):
    try:
        call()
    except SessionEnded as exc:
        return exc.verdict, str(exc)
    except StudentCodeError as exc:
        return "raised", str(exc)
    return "returned", ""


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
class TestAbuse:
    def test_a_long_sleep_times_out(self, attack):
        assert verdict_of(lambda: attack("sleep_long", timeout=1))[0] == "timeout"

    def test_a_fork_bomb_is_contained(self, attack):
        verdict, _ = verdict_of(lambda: attack("fork_bomb", timeout=3))
        assert verdict in ("timeout", "crashed")

    def test_a_memory_bomb_is_stopped(self, attack):
        verdict, message = verdict_of(lambda: attack("memory_bomb", timeout=20))
        assert (verdict, "MemoryError") == ("raised", message[:11]) or verdict == "memory"

    @pytest.mark.parametrize("path", ["/work/big", "/tmp/big"])
    def test_filling_the_disk_stops_at_the_work_dir_size(self, attack, path):
        assert attack("fill_disk", path, work_mb=16).value.startswith("OSError")

    def test_printing_100_mb_ends_the_session_with_a_verdict(self, attack):
        verdict, message = verdict_of(lambda: attack("print_100mb"))
        assert verdict == "output" and "printed more than 4 MB" in message

    def test_the_host_redis_and_the_outside_are_unreachable(self, attack):
        assert attack("connect", "127.0.0.1", 6379).value != "connected"
        assert attack("connect", "10.0.0.1", 80).value != "connected"
        assert attack("connect", "172.17.0.1", 2375).value != "connected"  # the Docker bridge

    def test_no_secret_is_in_the_environment(self, attack):
        env = attack("environment").value
        assert CANARY not in json.dumps(env)
        assert not any(k.startswith(("DJANGO", "REDIS", "DATABASE", "BELLMAN_TEST")) for k in env)
        assert CANARY not in attack("read", "/proc/1/environ").value

    def test_server_files_and_other_submissions_cannot_be_read(self, attack, backend):
        other = Session(backend, "MARK = 'another-students-work'\n", Limits(), request_timeout=8, session_timeout=30)
        try:
            theirs = other.dir / "submission" / "submission.py"
            for path in (theirs, ROOT / "server" / "settings.py",
                         ROOT / "assignments" / "qlearning-cliffwalking" / "reference.py",
                         ROOT / "assignments" / "qlearning-cliffwalking" / "checks.py", "/etc/shadow"):
                assert attack("read", str(path)).value in ("FileNotFoundError", "PermissionError"), path
            assert attack("listing", "/tmp").value == []
            assert attack("listing", "/submission").value == ["submission.py"]
        finally:
            other.close()

    @pytest.mark.parametrize("path", ["/submission/submission.py", "/opt/bellman/runner/runner.py",
                                      "/etc/passwd", "/usr/bin/evil"])
    def test_writing_outside_the_work_dir_fails(self, attack, path):
        assert attack("fill_disk", path).value.split()[0] in ("OSError", "PermissionError")

    def test_forged_protocol_messages_end_the_session(self, attack):
        verdict, message = verdict_of(lambda: attack("forge_message"))
        assert verdict == "protocol" and "unknown message" in message
        verdict, message = verdict_of(lambda: attack("forge_garbage"))
        assert verdict == "protocol"

    def test_killing_the_parent_only_ends_the_sandbox(self, attack):
        assert verdict_of(lambda: attack("kill_parent"))[0] in ("crashed", "protocol")

    def test_stopping_itself_times_out(self, attack):
        assert verdict_of(lambda: attack("stop_self", timeout=2))[0] == "timeout"

    def test_closing_the_channel_ends_the_session(self, attack):
        assert verdict_of(lambda: attack("close_channel"))[0] in ("crashed", "protocol", "timeout")

    def test_nan_comes_back_as_nan_for_the_checks_to_refuse(self, attack):
        value = attack("nan").value
        assert value != value

    @pytest.mark.parametrize("fn, message", [
        ("huge", "cannot be sent back"), ("nested", "cannot be sent back"),
        ("not_json", "function cannot be checked"),
    ])
    def test_values_that_are_not_plain_data_are_refused(self, attack, fn, message):
        with pytest.raises(StudentCodeError, match=message):
            attack(fn)

    def test_an_object_that_equals_everything_arrives_as_a_plain_number(self, attack):
        value = attack("always_equal").value
        assert type(value) is float and value == 1.0 and value != 2.0

    def test_open_files_are_limited(self, attack):
        assert attack("too_many_files").value.startswith("OSError")


# -- through the whole pipeline -----------------------------------------------------------------
QL = assignments.get("qlearning-cliffwalking")
GOOD = (EXAMPLES / "passes_all.py").read_text()


def graded(config, source):
    return pipeline.grade(QL, "attack.py", source.encode(), config)


def test_a_forged_report_and_inflated_rewards_change_nothing(grading_config):
    source = GOOD.split('if __name__')[0] + r'''
import json, sys
print(json.dumps({"assignment": "qlearning-cliffwalking", "status": "graded", "score": 100.0}))
open("/work/report.json", "w").write('{"score": 100}')

_real_train = train
def train(env, episodes, **kw):
    step = type(env).step
    def inflated(self, action):
        s2, r, terminated, truncated, info = step(self, action)
        return s2, 1000.0, True, truncated, info   # claim a huge reward and an early end
    type(env).step = inflated
    for _ in range(20):
        env.reset()
        done = False
        while not done:
            _, r, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
    return np.zeros((48, 4))                        # learned nothing
'''
    report = graded(grading_config, source)
    curve = next(c for c in report.checks if c.id == "learning_curve")
    assert curve.score == 0 and report.score == 60
    assert all(max(c["episode_returns"]) <= 0 for c in report.curves)  # the true returns, not 1000
    assert '"score": 100.0' in report.output_tail  # printed, and ignored


def test_no_secret_reaches_the_report_and_the_next_submission_is_served(grading_config):
    staged_before = set(glob.glob("/tmp/bellman-*"))
    source = r'''
import os, sys
leak = dict(os.environ)
for path in ("/proc/1/environ", "/proc/self/environ", "''' + str(ROOT / "server" / "settings.py") + r'''"):
    try:
        leak[path] = open(path, "rb").read().decode("utf-8", "replace")
    except OSError as exc:
        leak[path] = repr(exc)
print(leak)
def epsilon_greedy(Q, state, epsilon, rng):
    raise RuntimeError(str(leak))
def q_update(*args):
    while True:
        os.fork() if hasattr(os, "fork") else None
def train(env, episodes, **kw):
    hoard = []
    while True:
        hoard.append(bytearray(1 << 26))
'''
    report = graded(grading_config, source)
    text = json.dumps(report.to_dict())
    assert report.status == "graded" and report.score == 0
    assert CANARY not in text and os.environ["DJANGO_SECRET_KEY"] not in text
    assert "SECRET_KEY = env_str" not in text
    after = graded(grading_config, GOOD)
    assert after.score == 100
    assert set(glob.glob("/tmp/bellman-*")) <= staged_before


MIRRORED = r'''
import numpy as np

def play(env, steps):
    """Random actions; what the student's side saw of the last observation."""
    rng = np.random.default_rng(0)
    obs, _ = env.reset()
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        if terminated or truncated:
            obs, _ = env.reset()
    return obs.tolist()

def tamper(env, steps):
    """Loosen the copy's pole limit so that episodes never end, and inflate the rewards."""
    env.reset()
    for name in dir(env):
        inner = getattr(getattr(env, name), "unwrapped", None)
        if inner is not None and hasattr(inner, "theta_threshold_radians"):
            inner.theta_threshold_radians = 10.0
    for _ in range(steps):
        env.step(0)
    return "trained"

def inflate(env, steps):
    step = type(env).step
    type(env).step = lambda self, a: (lambda r: (r[0], 1000.0, r[2], r[3], r[4]))(step(self, a))
    return play(env, steps)
'''


def cartpole(mirror):
    from grader.envhost import EnvHost

    return EnvHost(env_id="CartPole-v1", seed=3, max_episode_steps=500, max_episodes=10_000, max_steps=100_000,
                   mirror=mirror)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_mirrored_environment_serves_what_the_stepped_one_does(backend):
    seen = {}
    for mirror in (False, True):
        host = cartpole(mirror)
        with Session(backend, MIRRORED, Limits(), request_timeout=60, session_timeout=120) as session:
            assert session.load() is None
            seen[mirror] = (session.call("play", host.arg(), 3000, env_host=host).value, host.returns, host.steps)
    assert seen[True] == seen[False]
    assert len(seen[True][1]) > 50 and seen[True][2] == 3000


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_tampered_mirror_ends_the_session_and_inflated_rewards_change_nothing(backend):
    host = cartpole(True)
    with Session(backend, MIRRORED, Limits(), request_timeout=60, session_timeout=120) as session:
        session.load()
        verdict, message = verdict_of(lambda: session.call("tamper", host.arg(), 1000, env_host=host))
    assert verdict == "environment" and "no longer matches the real one" in message
    # The real episode ended after a few steps, whatever the copy said; that is what is recorded.
    assert len(host.returns) == 1 and host.returns[0] == host.steps < 50

    inflated, honest = cartpole(True), cartpole(True)
    with Session(backend, MIRRORED, Limits(), request_timeout=60, session_timeout=120) as session:
        session.load()
        session.call("play", honest.arg(), 2000, env_host=honest)
        session.call("inflate", inflated.arg(), 2000, env_host=inflated)
    assert inflated.returns == honest.returns and max(honest.returns) < 500
