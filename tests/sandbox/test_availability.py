"""Nobody can stall grading for everyone: every write across the boundary has a deadline, a session that
misses one is killed with a named verdict, and what a student's code sends ends as feedback."""
import json
import threading

import pytest

from grader import runs
from grader.envhost import EnvHost
from grader.errors import SessionEnded, StudentCodeError
from grader.session import Session
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
    session = open_session(backend)
    session.sandbox.kill()  # nothing reads the channel any more
    session.close()
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
    cfg = {"env": "CartPole-v1", "eval_episodes": 1, "max_episode_steps": 50}
    session = open_session(backend)
    try:
        with pytest.raises(StudentCodeError, match=r"chose action 2.*actions are 0 to 1.*one output per action"):
            runs.greedy_evaluation(session, cfg, 5, policy="q")
    finally:
        session.close()
