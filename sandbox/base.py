"""What every sandbox backend provides: start a runner, talk to it, kill it, clean up."""
import os
import select
import threading
import time
from dataclasses import dataclass
from pathlib import Path

RUNNER_DIR = Path(__file__).resolve().parent / "runner"
# Where things appear inside every sandbox, whatever the backend.
RUNNER_MOUNT = "/opt/bellman/runner"
SUBMISSION_MOUNT = "/submission"
WORK_DIR = "/work"
SANDBOX_UID = 65534
RUNNER_COMMAND = ["python3", "-I", "-B", f"{RUNNER_MOUNT}/runner.py"]
# The only environment a sandbox gets: nothing of the worker's leaks in.
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORK_DIR,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
}


SANDBOX_GID = 65534


def grant(path, *, write: bool = False) -> None:
    """Let the sandbox's uid read (or, with ``write``, also write) a staged path, and nobody else on the host.

    As root: owned by root, group SANDBOX_GID, no access for others (0750 folders, 0640 files; 0660 with
    ``write``, for the channel's socket). Otherwise the only way for uid 65534 in is the world bits."""
    path = Path(path)
    folder = path.is_dir()
    if os.geteuid() == 0:
        os.chown(path, 0, SANDBOX_GID)
        path.chmod(0o750 if folder else (0o660 if write else 0o640))
    else:
        path.chmod(0o755 if folder else (0o666 if write else 0o644))


class SandboxError(Exception):
    """A sandbox could not be used; the message says why."""


class SandboxUnavailable(SandboxError):
    """The backend cannot start sandboxes on this machine (an infrastructure fault, retried)."""


class SandboxTimeout(SandboxError):
    """The code inside did not answer before the deadline."""


@dataclass(frozen=True)
class Limits:
    """Resource limits, applied from outside the sandbox."""

    memory_mb: int = 2048
    cpus: float = 1.0
    pids: int = 64
    work_mb: int = 64
    cpu_seconds: int = 900
    file_size_mb: int = 32
    open_files: int = 128
    output_bytes: int = 4 * 1024 * 1024  # student prints beyond this end the session
    output_tail_bytes: int = 8 * 1024  # what the report keeps of them


class ProtocolReader:
    """Reads the protocol channel directly in the calling thread, with a deadline.

    No pump thread: a message costs one poll and one read, not a hand-over between threads,
    which matters when every environment step is a round trip.
    """

    def __init__(self, fd: int):
        self._fd = fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self._buf = bytearray()
        self._eof = False

    def read_exact(self, n, deadline):
        while len(self._buf) < n and not self._eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxTimeout("no answer before the deadline")
            if not self._poll.poll(min(left, 1.0) * 1000):
                continue
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                continue  # a spurious wake-up of a non-blocking channel
            except OSError:
                chunk = b""
            if chunk:
                self._buf += chunk
            else:
                self._eof = True
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write all of ``data`` to the non-blocking ``fd`` before ``deadline`` (time.monotonic), or raise
    SandboxTimeout: code inside that stops reading must not hold the worker. A peer that is gone raises
    BrokenPipeError (an OSError), which callers treat as the end of the sandbox."""
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT | select.POLLERR | select.POLLHUP)
    while view:
        try:
            view = view[os.write(fd, view):]
            continue
        except BlockingIOError:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise SandboxTimeout("the sandbox stopped reading before the deadline")
        poller.poll(min(left, 1.0) * 1000)


class OutputCapture:
    """The student's stdout/stderr: counted in full, only the tail kept."""

    def __init__(self, limit, tail_bytes, on_overflow):
        self.total = 0
        self.overflowed = False
        self._tail = bytearray()
        self._limit = limit
        self._tail_bytes = tail_bytes
        self._on_overflow = on_overflow
        self._lock = threading.Lock()

    def feed(self, chunk):
        with self._lock:
            self.total += len(chunk)
            self._tail += chunk
            if len(self._tail) > self._tail_bytes:
                del self._tail[: len(self._tail) - self._tail_bytes]
            overflow = self.total > self._limit and not self.overflowed
            if overflow:
                self.overflowed = True
        if overflow:
            self._on_overflow()

    def tail(self):
        with self._lock:
            return bytes(self._tail).decode("utf-8", errors="replace")


class Sandbox:
    """One running runner process in an isolated environment.

    Subclasses start the process and pump its output into ``protocol`` and ``output``;
    this class owns the framing, deadlines and the guarantee that ``close`` cleans up.
    """

    backend = "?"

    def __init__(self, limits: Limits):
        self.limits = limits
        self.protocol: ProtocolReader | None = None  # set by the backend once the channel is open
        self.output = OutputCapture(limits.output_bytes, limits.output_tail_bytes, self.kill)
        self.killed_reason: str | None = None
        self.started_at = time.monotonic()
        self.output_closed = threading.Event()  # set by the backend when the output stream ends
        self.missing_limits: list[str] = []  # limits the operator allowed this backend to run without (bwrap)

    # Implemented by backends.
    def write(self, data: bytes, deadline: float) -> None:
        """Send ``data`` to the runner by ``deadline`` (time.monotonic), else raise SandboxTimeout.
        A runner that is gone is not an error here: the next read reports how it ended."""
        raise NotImplementedError

    def _kill(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def exit_info(self) -> str:
        """A short description of how the process ended, for feedback (e.g. 'killed: out of memory')."""
        raise NotImplementedError

    def kill(self, reason: str = "") -> None:
        if reason and not self.killed_reason:
            self.killed_reason = reason
        self._kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def pump(read_chunk, sink, on_end):
    """Copy chunks from ``read_chunk()`` to ``sink`` until it returns b''; then ``on_end()``."""

    def loop():
        try:
            while True:
                chunk = read_chunk()
                if not chunk:
                    break
                sink(chunk)
        except (OSError, ValueError):
            pass
        finally:
            on_end()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread
