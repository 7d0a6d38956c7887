"""Sandboxes as bubblewrap processes over the same root filesystem as the Docker image."""
import os
import resource
import shutil
import subprocess
import threading
from pathlib import Path

from sandbox import cgroups
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
    pump,
    write_all,
)

LIMIT_NAMES = {"pids": "the process count (pids)", "memory": "the memory limit (memory)",
               "cpu": "the CPU share (cpu)"}


def describe_missing(controllers) -> str:
    return ", ".join(LIMIT_NAMES.get(c, c) for c in controllers)


class BwrapBackend:
    name = "bwrap"

    def __init__(self, *, rootfs: str, allow_missing_limits: bool | None = None):
        self.rootfs = rootfs
        if allow_missing_limits is None:
            allow_missing_limits = os.environ.get("SANDBOX_ALLOW_MISSING_LIMITS", "") in ("1", "true", "yes")
        self.allow_missing_limits = allow_missing_limits

    def missing_limits(self, *, enable: bool = True) -> list[str]:
        """The cgroup controllers a sandbox would lack here (see sandbox.cgroups); ``enable=False`` only looks."""
        return cgroups.missing(enable=enable)

    def available(self) -> bool:
        pythons = ("usr/bin/python3", "usr/local/bin/python3")  # Debian's, or python:3.11-slim's
        return bool(shutil.which("bwrap")) and any(os.path.exists(os.path.join(self.rootfs, p)) for p in pythons)

    def reachable_by_sandbox_user(self) -> bool:
        """Every folder above the rootfs must be searchable by others (bwrap runs as uid 65534)."""
        path = Path(self.rootfs).resolve()
        return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])

    def start(self, stage_dir, limits: Limits) -> "BwrapSandbox":
        if not self.available():
            raise SandboxUnavailable(
                f"bubblewrap or the sandbox root filesystem ({self.rootfs}) is missing: "
                "run sandbox/image/build.sh")
        if os.getuid() == 0 and not self.reachable_by_sandbox_user():
            raise SandboxUnavailable(
                f"the sandbox root filesystem {self.rootfs} sits in a folder that uid {SANDBOX_UID} cannot "
                "enter: set SANDBOX_ROOTFS to a path under a world-searchable folder (e.g. /var/lib/bellman)")
        missing = self.missing_limits()
        if missing and not self.allow_missing_limits:
            why = "the worker does not run as root" if os.geteuid() != 0 else "the control groups are not available"
            raise SandboxUnavailable(
                f"the bwrap backend cannot apply {describe_missing(missing)} here ({why}): run the worker as root "
                "with cgroups (v1, or v2 with the pids, memory and cpu controllers delegated), use the docker "
                "backend, or set SANDBOX_ALLOW_MISSING_LIMITS=1 to run with rlimits only (every report then "
                "says which limit was missing)")
        return BwrapSandbox(self, stage_dir, limits, missing=missing)

    def sweep(self, older_than_s: float, *, live_hosts: set[str] | None = None) -> int:
        cgroups.sweep()  # --die-with-parent: no process outlives the worker, only empty groups
        return 0


def _command(rootfs, stage_dir, limits: Limits):
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
           "--ro-bind", rootfs, "/",
           "--proc", "/proc", "--dev", "/dev",
           # /dev is bwrap's own tmpfs: shared memory gets a sized one, and the rest is made read-only.
           "--size", str(limits.work_mb << 20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
           "--size", str(limits.work_mb << 20), "--tmpfs", WORK_DIR,
           "--size", str(limits.work_mb << 20), "--tmpfs", "/tmp",
           "--ro-bind", str(Path(stage_dir) / "runner"), RUNNER_MOUNT,
           "--ro-bind", str(Path(stage_dir) / "submission"), SUBMISSION_MOUNT,
           "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
           "--hostname", "sandbox", "--chdir", WORK_DIR, "--clearenv"]
    for key, value in SANDBOX_ENV.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--"] + RUNNER_COMMAND


def _limit_self(limits: Limits, cgroup, *, pids_cgroup: bool):
    """Runs in the child before exec: its own cgroup, rlimits, and no root on the host even outside the namespaces."""

    def apply():
        if cgroup is not None:
            cgroup.enter()
        mb = 1 << 20
        for res, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                           (resource.RLIMIT_CPU, limits.cpu_seconds),
                           (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
                           (resource.RLIMIT_NOFILE, limits.open_files),
                           (resource.RLIMIT_CORE, 0),
                           # Per uid, so shared by concurrent sandboxes: a backstop where the per-sandbox
                           # cgroup's pids.max is the real limit.
                           (resource.RLIMIT_NPROC, limits.pids * (8 if pids_cgroup else 1))):
            resource.setrlimit(res, (value, value))
        if os.getuid() == 0:
            os.setgroups([])
            os.setgid(SANDBOX_UID)
            os.setuid(SANDBOX_UID)

    return apply


class BwrapSandbox(Sandbox):
    backend = "bwrap"

    def __init__(self, backend: BwrapBackend, stage_dir, limits: Limits, *, missing=()):
        super().__init__(limits)
        self._lock = threading.Lock()
        self._closed = False
        self.missing_limits = list(missing)
        try:
            self.cgroup = cgroups.SandboxCgroup(limits, skip=missing) if os.geteuid() == 0 else None
        except cgroups.CgroupError as exc:
            raise SandboxUnavailable(str(exc)) from exc
        try:
            self.process = subprocess.Popen(
                _command(backend.rootfs, stage_dir, limits),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={}, close_fds=True, bufsize=0,
                preexec_fn=_limit_self(limits, self.cgroup, pids_cgroup="pids" not in self.missing_limits))
        except (OSError, subprocess.SubprocessError) as exc:
            if self.cgroup is not None:
                self.cgroup.remove()
            raise SandboxUnavailable(f"could not start bubblewrap: {exc}") from exc
        stdin, stdout, stderr = self.process.stdin, self.process.stdout, self.process.stderr
        assert stdin is not None and stdout is not None and stderr is not None  # all three are PIPE above
        self._stdin, self._pipes = stdin, (stdin, stdout, stderr)
        self.protocol = ProtocolReader(stdout.fileno())
        os.set_blocking(stdin.fileno(), False)  # writes wait in poll, with a deadline
        pump(lambda: stderr.read(65536), self.output.feed, self.output_closed.set)

    def write(self, data: bytes, deadline: float) -> None:
        try:
            write_all(self._stdin.fileno(), data, deadline)
        except (OSError, ValueError):
            pass  # the sandbox is gone; the next read reports it

    def _kill(self):
        try:
            self.process.kill()  # bwrap is pid 1's parent: the whole pid namespace goes with it
        except OSError:
            pass

    def exit_info(self) -> str:
        try:
            code = self.process.wait(timeout=5)  # asked once the channel ended: it is exiting
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return "still running"
        if self.cgroup is not None and self.cgroup.oom_killed():
            return "killed: out of memory"
        if code < 0:
            return f"killed by signal {-code}"
        return f"exited with status {code}"

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.output_closed.wait(2)
        if self.cgroup is not None:
            self.cgroup.remove()
        for stream in self._pipes:
            try:
                stream.close()
            except OSError:
                pass
