"""Both sandbox backends behind one interface: same behaviour, same limits, nothing left behind."""
import time

import pytest

from grader.errors import SessionEnded, StudentCodeError
from grader.session import Session
from sandbox import Limits
from tests.conftest import container_is_gone

PROBE = r'''
import os, socket, sys

def add(a, b):
    return a + b

def chatty():
    print("to stdout")
    print("to stderr", file=sys.stderr)
    os.write(1, b"raw fd 1\n")
    return "done"

def identity():
    return {"uid": os.getuid(), "env": sorted(os.environ), "cwd": os.getcwd(), "host": socket.gethostname()}

def network(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__

def write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "written"
    except OSError as exc:
        return type(exc).__name__

def spin():
    while True:
        pass

def allocate(mb):
    blocks = [bytearray(1024 * 1024) for _ in range(mb)]
    return len(blocks)

def flood():
    line = "x" * 1023 + "\n"
    for _ in range(10 * 1024):
        sys.stdout.write(line)
    return "finished"

def die():
    os._exit(3)
'''


@pytest.fixture
def session(backend):
    s = Session(backend, PROBE, Limits(memory_mb=512), request_timeout=10, session_timeout=60)
    s.load()
    yield s
    s.close()


def test_it_calls_a_function_and_returns_its_value(session):
    assert session.call("add", 2, 3).value == 5


def test_prints_are_captured_apart_from_the_protocol(session):
    assert session.call("chatty").value == "done"
    session.close()
    tail = session.output_tail()
    assert "to stdout" in tail
    assert "to stderr" in tail
    assert "raw fd 1" in tail


def test_it_runs_as_nobody_with_a_clean_environment(session):
    info = session.call("identity").value
    assert info["uid"] == 65534
    assert info["cwd"] == "/work"
    assert not any(name.startswith(("DJANGO", "REDIS", "DATABASE", "CELERY")) for name in info["env"])
    assert "BELLMAN_CHANNEL" not in info["env"]


def test_it_has_no_network(session):
    assert session.call("network", "127.0.0.1", 6379).value in ("ConnectionRefusedError", "OSError")
    assert session.call("network", "1.1.1.1", 53).value in ("OSError", "TimeoutError", "ConnectionRefusedError")


def test_only_the_work_dir_is_writable(session):
    assert session.call("write", "/work/notes.txt").value == "written"
    assert session.call("write", "/submission/submission.py").value in ("OSError", "PermissionError")
    assert session.call("write", "/usr/lib/python3/evil.py").value in ("OSError", "PermissionError")


def test_an_infinite_loop_is_stopped_at_the_deadline(session):
    started = time.monotonic()
    with pytest.raises(SessionEnded) as info:
        session.call("spin", timeout=1)
    assert info.value.verdict == "timeout"
    assert time.monotonic() - started < 10


def test_using_too_much_memory_ends_the_session(session):
    with pytest.raises((SessionEnded, StudentCodeError)) as info:
        session.call("allocate", 2048)
    if isinstance(info.value, SessionEnded):
        assert info.value.verdict in ("memory", "crashed")
    else:
        assert "MemoryError" in str(info.value)


def test_printing_too_much_ends_the_session(backend):
    limits = Limits(output_bytes=1024 * 1024)
    with Session(backend, PROBE, limits, request_timeout=20, session_timeout=60) as s:
        s.load()
        with pytest.raises(SessionEnded) as info:
            s.call("flood")
        assert info.value.verdict == "output"


def test_a_crash_is_reported(session):
    with pytest.raises(SessionEnded) as info:
        session.call("die")
    assert info.value.verdict == "crashed"


def test_an_exception_comes_back_with_its_traceback(session):
    with pytest.raises(StudentCodeError) as info:
        session.call("add", 1, "x")
    assert "TypeError" in str(info.value)
    assert "submission.py" in info.value.traceback


def test_nothing_is_left_behind(backend):
    s = Session(backend, PROBE, Limits(), request_timeout=5, session_timeout=30)
    s.load()
    with pytest.raises(SessionEnded):
        s.call("spin", timeout=0.5)
    s.close()
    assert not s.dir.exists()
    if backend.name == "docker":
        assert container_is_gone(backend, s.sandbox.container.id)
    else:
        assert s.sandbox.process.poll() is not None


def test_start_up_is_reported_per_backend(backend):
    """Start-up must work repeatedly (the figures are in bench/, not asserted here)."""
    for _ in range(3):
        with Session(backend, "x = 1\n", Limits(), request_timeout=10, session_timeout=30) as s:
            assert s.load() is None
            assert "x" in s.names
