"""Nobody can stall grading for everyone: every write across the boundary has a deadline, a session that
misses one is killed with a named verdict, and what a student's code sends ends as feedback."""
import json
import threading

import pytest

from grader import evaluation
from grader.envhost import EnvHost
from grader.errors import SessionEnded, StudentCodeError
from grader.session import Session
from grader.spec import LearningCurveSpec
from sandbox import Limits
from tests.conftest import BACKENDS, container_is_gone

CODE = r'''
import json, os, struct, time
import torch

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

def _frame(message):
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body

def add_one(x):
    return x + 1

def nap():
    time.sleep(60)

def flood(env):
    """Ask for resets as fast as possible and never read an answer."""
    fd = _protocol_fd()
    request = _frame({"op": "env.reset", "env": "env0"}) * 1000
    while True:
        os.write(fd, request)

def forge_return(text):
    os.write(_protocol_fd(), _frame({"op": "return", "values": [json.loads(text)]}))
    time.sleep(30)

q = torch.nn.Linear(4, 3)
with torch.no_grad():
    q.bias.copy_(torch.tensor([0.0, 0.0, 100.0]))  # always the third action, which CartPole does not have
'''


def open_session(backend, **kwargs):
    session = Session(backend, CODE, Limits(memory_mb=1024), request_timeout=5, session_timeout=40, **kwargs)
    assert session.load() is None
    return session


def gone(backend, session):
    if backend.name == "docker":
        return container_is_gone(backend, session.sandbox.container.id)
    return session.sandbox.process.poll() is not None


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_flood_that_never_reads_the_answers_ends_the_session_stalled(backend):
    host = EnvHost.for_episodes("CartPole-v1", 1, episodes=3, max_episode_steps=50)
    host.mirror = False  # stepped: every reset is answered
    session = open_session(backend)
    outcome = {}

    def call():
        try:
            session.call("flood", host.arg(), env_host=host, timeout=5)
        except SessionEnded as exc:
            outcome["ended"] = exc
        finally:
            session.close()

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    # Not a timing assertion: a blocked write would hold this thread until the process ends.
    worker.join(120)
    assert not worker.is_alive(), "the grader is still blocked writing to a sandbox that does not read"
    assert outcome["ended"].verdict == "stalled"
    assert "stopped reading" in str(outcome["ended"])
    assert gone(backend, session)
    assert not session.dir.exists()
    host.close()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_closing_a_session_that_stopped_reading_kills_it_first(backend):
    import time

    from sandbox.base import SandboxTimeout

    session = open_session(backend)
    session._send({"op": "call", "fn": "nap", "args": [], "kwargs": {}, "repeat": 1, "return_args": False})
    with pytest.raises(SandboxTimeout):  # the runner naps: the channel fills up and stays full
        for _ in range(10_000):
            session.sandbox.write(b"\0" * 65536, time.monotonic() + 1)
    closing = threading.Thread(target=session.close, daemon=True)
    closing.start()
    closing.join(60)  # not a timing assertion: a close that writes first would block here for good
    assert not closing.is_alive(), "close() is blocked writing to a sandbox that does not read"
    assert gone(backend, session)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("value, words", [
    ({"$nd": {"dtype": "float32", "shape": [2**62, 2**62], "data": [1]}}, "shape does not match"),
    ({"$nd": {"dtype": "float32", "shape": [1] * 65, "data": [1]}}, "65 dimensions"),
    ({"$nd": {"dtype": "int64", "shape": [1], "data": [2**70]}}, "out of the range of int64"),
    ({"$tensor_out": [1]}, "malformed tensor"),
])
def test_forged_arrays_from_inside_are_feedback(backend, value, words):
    session = open_session(backend)
    try:
        with pytest.raises(StudentCodeError, match=words) as info:
            session.call("forge_return", json.dumps(value))
        assert info.value.kind == "value"
    finally:
        session.close()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_an_action_out_of_the_action_space_is_feedback_not_an_assertion(backend):
    cfg = LearningCurveSpec(env="CartPole-v1", seeds=(1,), run_timeout_s=10, eval_episodes=1, max_episode_steps=50,
                            threshold=1, runs_required=1)
    session = open_session(backend)
    try:
        with pytest.raises(StudentCodeError, match=r"chose action 2.*actions are 0 to 1.*one output per action"):
            evaluation.greedy_evaluation(session, cfg, 5, policy="q")
    finally:
        session.close()


# -- bwrap's limits fail closed ---------------------------------------------------------------------
def bwrap(**options):
    from django.conf import settings

    from sandbox.bwrap_backend import BwrapBackend

    return BwrapBackend(rootfs=settings.SANDBOX_ROOTFS, **options)


@pytest.mark.bwrap
def test_bwrap_refuses_to_start_without_a_limit_it_cannot_apply(monkeypatch):
    from grader.errors import InfrastructureError
    from sandbox import cgroups

    monkeypatch.setattr(cgroups, "missing", lambda **_: ["memory"])
    with pytest.raises(InfrastructureError, match=r"cannot apply the memory limit \(memory\).*SANDBOX_ALLOW_MISSING"):
        Session(bwrap(allow_missing_limits=False), CODE, Limits(), request_timeout=5, session_timeout=10)


@pytest.mark.bwrap
def test_bwrap_refuses_when_not_root(monkeypatch):
    from sandbox import cgroups

    monkeypatch.setattr(cgroups.os, "geteuid", lambda: 1000)
    assert cgroups.missing() == ["pids", "memory", "cpu"]


@pytest.mark.bwrap
def test_a_limit_allowed_to_be_missing_is_named_in_the_report(monkeypatch, tmp_path):
    from grader import assignments, pipeline
    from sandbox import cgroups

    monkeypatch.setattr(cgroups, "missing", lambda **_: ["cpu"])
    folder = assignments.get("qlearning-cliffwalking")
    config = pipeline.GradingConfig(backend=bwrap(allow_missing_limits=True))
    report = pipeline.grade(folder, "t.py", (folder.path / "template.py").read_bytes(), config, only=("q_update",))
    assert any("ran without the CPU share (cpu)" in n for n in report.notices), report.notices


def test_a_required_limit_file_that_does_not_exist_is_an_error(tmp_path):
    from sandbox import cgroups

    with pytest.raises(cgroups.CgroupError, match="memory.max does not exist"):
        cgroups.SandboxCgroup._apply(tmp_path, {"memory.max": "1", "memory.swap.max?": "0"})
    (tmp_path / "memory.max").write_text("")
    cgroups.SandboxCgroup._apply(tmp_path, {"memory.max": "1", "memory.swap.max?": "0"})  # optional one absent
    assert (tmp_path / "memory.max").read_text() == "1"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_dev_is_read_only_and_dev_shm_is_sized(backend):
    session = Session(backend, PROBE_DEV, Limits(work_mb=8), request_timeout=20, session_timeout=40)
    try:
        assert session.load() is None
        assert session.call("write", "/dev/x").value == "OSError"
        assert session.call("fill", "/dev/shm/f").value.startswith("OSError")
    finally:
        session.close()


PROBE_DEV = r'''
def write(path):
    try:
        open(path, "w").write("x")
        return "written"
    except OSError:
        return "OSError"

def fill(path):
    written = 0
    try:
        with open(path, "wb") as f:
            for _ in range(256):
                f.write(b"x" * (1 << 20))
                f.flush()
                written += 1
    except OSError as exc:
        return f"OSError {exc.errno} after {written} MB"
    return f"wrote {written} MB"
'''


# -- files on the host --------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_staging_folders_and_the_channel_are_closed_to_other_host_users(backend):
    import os
    import stat

    session = open_session(backend)  # the sandbox reads its files: the load worked
    try:
        paths = [session.dir, session.dir / "submission", session.dir / "submission" / "submission.py",
                 session.dir / "runner" / "runner.py"]
        if backend.name == "docker":
            paths += [session.dir / "channel", session.dir / "channel" / "sock"]
        for path in paths:
            mode = os.stat(path).st_mode
            assert stat.S_IMODE(mode) & 0o007 == 0, f"{path} is open to every user: {oct(stat.S_IMODE(mode))}"
            assert os.stat(path).st_uid == 0, f"{path} is not root's"
        assert session.call("add_one", 1).value == 2
    finally:
        session.close()


# -- the grading stops by its time budget, with a result ------------------------------------------------
SPINS = r'''
def epsilon_greedy(Q, state, epsilon, rng):
    while True:
        pass

def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    while True:
        pass

def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
    while True:
        pass
'''


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_grading_that_runs_out_of_its_budget_ends_with_a_report(backend):
    from grader import assignments, pipeline

    folder = assignments.get("qlearning-cliffwalking")
    config = pipeline.GradingConfig(backend=backend, max_budget_s=8)
    report = pipeline.grade(folder, "spin.py", SPINS.encode(), config)
    by_id = {c.id: c for c in report.checks}
    assert by_id["epsilon_greedy"].details.get("verdict") == "timeout"
    for later in ("q_update", "learning_curve"):
        assert by_id[later].score == 0
        assert "time budget of 8 s ran out" in by_id[later].feedback, by_id[later].feedback
    assert report.score == 0
