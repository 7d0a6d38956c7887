"""Sandboxes as Docker containers, driven through the Docker SDK."""
import logging
import os
import socket
import struct
import threading
import time
import uuid
from pathlib import Path

from sandbox.base import (
    RUNNER_COMMAND,
    RUNNER_MOUNT,
    SANDBOX_ENV,
    SANDBOX_UID,
    SUBMISSION_MOUNT,
    WORK_DIR,
    Limits,
    ProtocolReader,
    Sandbox,
    SandboxUnavailable,
    grant,
    pump,
    write_all,
)

log = logging.getLogger(__name__)

LABEL = "bellman.sandbox"
TAG_LABEL = "bellman.tag"  # BELLMAN_SANDBOX_TAG, to tell apart the sandboxes of services sharing an engine
HOST_LABEL, PID_LABEL = "bellman.host", "bellman.pid"  # the process that started the sandbox


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
CHANNEL_MOUNT = "/run/bellman"
CONNECT_TIMEOUT = 30


def _client():
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means "unavailable"
        raise SandboxUnavailable(f"Docker Engine does not answer: {exc}") from exc
    return client


class DockerBackend:
    name = "docker"

    def __init__(self, *, image: str, runtime: str = ""):
        self.image = image
        self.runtime = runtime
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = _client()
        return self._client

    def available(self) -> bool:
        try:
            self.client.images.get(self.image)
        except Exception:  # noqa: BLE001
            return False
        return True

    def start(self, stage_dir, limits: Limits) -> "DockerSandbox":
        return DockerSandbox(self, stage_dir, limits)

    def sweep(self, older_than_s: float, *, live_hosts: set[str] | None = None) -> int:
        """Remove sandboxes left by a worker that was killed: those of a process of this host that is
        gone, at once; those of another host that is not in ``live_hosts`` (the hosts whose workers are
        heart-beating, when the caller knows any) once a minute old; and any older than a grading can last."""
        import datetime

        now = datetime.datetime.now(datetime.UTC)
        removed = 0
        for container in self.client.containers.list(all=True, filters={"label": LABEL}):
            labels = container.labels or {}
            created = datetime.datetime.fromisoformat(container.attrs["Created"][:26].rstrip("Z") + "+00:00")
            age = (now - created).total_seconds()
            host = labels.get(HOST_LABEL)
            orphan = host == socket.gethostname() and not _alive(labels.get(PID_LABEL, ""))
            host_gone = (live_hosts is not None and bool(live_hosts) and host != socket.gethostname()
                         and host not in live_hosts and age > 60)
            if orphan or host_gone or age > older_than_s:
                container.remove(force=True)
                removed += 1
        return removed


class DockerSandbox(Sandbox):
    backend = "docker"

    def __init__(self, backend: DockerBackend, stage_dir, limits: Limits):
        super().__init__(limits)
        import docker

        client = backend.client
        channel_dir = Path(stage_dir) / "channel"
        channel_dir.mkdir(mode=0o700, exist_ok=True)
        grant(channel_dir)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(channel_dir / "sock"))
        grant(channel_dir / "sock", write=True)  # the sandbox's group connects; nobody else on the host
        self._listener.listen(1)
        self._conn = None
        try:
            self.container = client.containers.create(
                backend.image,
                command=RUNNER_COMMAND,
                name=f"bellman-sbx-{uuid.uuid4().hex[:12]}",
                labels={LABEL: "1", TAG_LABEL: os.environ.get("BELLMAN_SANDBOX_TAG", ""),
                        HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())},
                user=f"{SANDBOX_UID}:{SANDBOX_UID}",
                working_dir=WORK_DIR,
                environment={**SANDBOX_ENV, "BELLMAN_CHANNEL": f"{CHANNEL_MOUNT}/sock"},
                network_mode="none",
                read_only=True,
                tmpfs={
                    WORK_DIR: f"size={limits.work_mb}m,uid={SANDBOX_UID},gid={SANDBOX_UID},nosuid,nodev",
                    "/tmp": f"size={limits.work_mb}m,mode=1777,nosuid,nodev,noexec",
                },
                volumes={
                    str(Path(stage_dir) / "runner"): {"bind": RUNNER_MOUNT, "mode": "ro"},
                    str(Path(stage_dir) / "submission"): {"bind": SUBMISSION_MOUNT, "mode": "ro"},
                    str(channel_dir): {"bind": CHANNEL_MOUNT, "mode": "ro"},
                },
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=limits.pids,
                mem_limit=f"{limits.memory_mb}m",
                memswap_limit=f"{limits.memory_mb}m",
                nano_cpus=int(limits.cpus * 1e9),
                ipc_mode="private",
                ulimits=[
                    docker.types.Ulimit(name="core", soft=0, hard=0),
                    docker.types.Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                    docker.types.Ulimit(name="fsize", soft=limits.file_size_mb << 20,
                                        hard=limits.file_size_mb << 20),
                    docker.types.Ulimit(name="cpu", soft=limits.cpu_seconds, hard=limits.cpu_seconds),
                ],
                runtime=backend.runtime or None,
                log_config={"type": "none"},
                # A minimal init as pid 1: the runner gets normal signal semantics, zombies are reaped.
                init=True,
            )
        except docker.errors.DockerException as exc:
            raise SandboxUnavailable(f"could not create a sandbox container: {exc}") from exc
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._sock = client.api.attach_socket(
                self.container.id, params={"stdout": 1, "stderr": 1, "stream": 1})
            self._raw = self._sock._sock
            self.container.start()
            self._listener.settimeout(CONNECT_TIMEOUT)
            self._conn, _ = self._listener.accept()
            self._conn.setblocking(False)  # reads and writes wait in poll, each with a deadline
        except (docker.errors.DockerException, OSError) as exc:
            self.close()
            raise SandboxUnavailable(f"could not start a sandbox container: {exc}") from exc
        finally:
            self._listener.close()
        self._demux = _Demux(self._raw, self.output.feed, self.output.feed)
        pump(self._demux.read, lambda _: None, self.output_closed.set)
        self.protocol = ProtocolReader(self._conn.fileno())

    def write(self, data: bytes, deadline: float) -> None:
        assert self._conn is not None  # __init__ raises SandboxUnavailable without a connection
        try:
            write_all(self._conn.fileno(), data, deadline)
        except (OSError, ValueError):
            pass  # the sandbox is gone; the next read reports it

    def _kill(self):
        try:
            self.container.kill()
        except Exception:  # noqa: BLE001 - already stopped or removed
            pass

    def exit_info(self) -> str:
        try:
            # Asked once the channel ended: give the engine the moment it needs to record how (an OOM kill
            # read while the container is still stopping would otherwise pass for a crash).
            self.container.wait(timeout=5)
        except Exception:  # noqa: BLE001 - still running after that, or gone: the state below says which
            pass
        try:
            self.container.reload()
            state = self.container.attrs["State"]
        except Exception:  # noqa: BLE001
            return "the sandbox is gone"
        if state.get("OOMKilled"):
            return "killed: out of memory"
        if state.get("Running"):
            return "still running"
        return f"exited with status {state.get('ExitCode')}"

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._kill()
        self.output_closed.wait(2)  # the attach stream ends once the container has stopped
        conn = self._conn
        steps = [lambda: self._raw.shutdown(socket.SHUT_RDWR), lambda: self._sock.close()]
        if conn is not None:  # None when the container did not connect
            steps = [lambda: conn.shutdown(socket.SHUT_RDWR), conn.close, *steps]
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 - cleanup must go on whatever state things are in
                pass
        self._remove()

    def _remove(self, attempts: int = 6):
        """Remove the container, retrying: under load the engine can refuse once ("did not receive an
        exit event", a timeout). What still stands after this is removed by the worker's sweep."""
        import docker

        for attempt in range(attempts):
            try:
                self.container.remove(force=True)
                return
            except docker.errors.NotFound:
                return
            except Exception as exc:  # noqa: BLE001
                error = exc
                time.sleep(min(0.25 * 2 ** attempt, 4))
        log.error("sandbox container %s could not be removed: %s", self.container.name, error)


class _Demux:
    """Reads Docker's multiplexed attach stream (stdout and stderr, both the student's output)."""

    HEADER = struct.Struct(">BxxxI")

    def __init__(self, sock, on_stdout, on_stderr):
        self._sock = sock
        self._sinks = {1: on_stdout, 2: on_stderr}

    def _recv_exact(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                return b""
            data += chunk
        return bytes(data)

    def read(self):
        header = self._recv_exact(self.HEADER.size)
        if not header:
            return b""
        stream, size = self.HEADER.unpack(header)
        remaining = size
        while remaining:
            chunk = self._sock.recv(min(remaining, 65536))
            if not chunk:
                return b""
            self._sinks.get(stream, self._sinks[2])(chunk)
            remaining -= len(chunk)
        return b"+"
