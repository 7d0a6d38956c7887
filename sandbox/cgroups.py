"""Per-sandbox control groups for the bwrap backend: a process count, memory and CPU share.

Each sandbox gets its own group, so a fork bomb or a memory bomb in one sandbox cannot starve the
others. The limits fail closed: ``missing()`` names every limit this machine cannot apply (not root, a
controller that is not enabled for child groups, v1 or v2), and a group whose limit file is missing is an
error, never silently skipped. The backend refuses to start a sandbox without them unless the operator
allowed it, and then the report says which limit was missing.
"""
import os
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "bellman-sbx-"
REQUIRED = ("pids", "memory", "cpu")  # controllers: the process count, the memory, the CPU share


class CgroupError(OSError):
    """A limit the sandbox needs cannot be set."""


def _v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _enabled_v2(enable: bool) -> set:
    """Controllers that child groups of ROOT get (``cgroup.subtree_control``); with ``enable``, enabling those
    that are only available (``cgroup.controllers``) where the kernel allows it."""
    available = set((ROOT / "cgroup.controllers").read_text().split())
    enabled = set((ROOT / "cgroup.subtree_control").read_text().split())
    wanted = (set(REQUIRED) & available) - enabled
    if wanted and not enable:
        return enabled | wanted  # they can be enabled when a sandbox starts
    if wanted:
        try:
            (ROOT / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted)))
        except OSError:
            pass  # a group with processes of its own cannot delegate: reported as missing below
        enabled = set((ROOT / "cgroup.subtree_control").read_text().split())
    return enabled


def missing(*, enable: bool = True) -> list[str]:
    """The controllers of REQUIRED that a sandbox's group would not get here (all of them when not root).
    ``enable=False`` changes nothing on the host (for the system checks): a controller that is available but
    not yet delegated counts as present."""
    if os.geteuid() != 0:
        return list(REQUIRED)
    try:
        if _v2():
            if not _writable(ROOT):
                return list(REQUIRED)
            enabled = _enabled_v2(enable)
            return [c for c in REQUIRED if c not in enabled]
        return [c for c in REQUIRED if not _writable(ROOT / c)]
    except OSError:
        return list(REQUIRED)


def available() -> bool:
    """Every limit of REQUIRED can be applied."""
    return not missing()


class SandboxCgroup:
    """One group per sandbox; ``enter`` runs in the child before exec, ``remove`` after it ended.

    ``skip`` names controllers known to be missing (allowed by the operator); every other limit must be set,
    or CgroupError is raised and nothing is left behind."""

    def __init__(self, limits, *, skip=()):
        self.name = PREFIX + uuid.uuid4().hex[:12]
        self.dirs = []
        try:
            self._create(limits, set(skip))
        except OSError as exc:
            self.remove()
            raise CgroupError(f"the sandbox's control group could not be set up: {exc}") from exc

    def _create(self, limits, skip):
        memory = str(limits.memory_mb << 20)
        period = 100_000
        settings = {
            "pids": {"pids.max": str(limits.pids)},
            "memory": {"memory.max": memory, "memory.swap.max?": "0"} if _v2() else
                      {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes?": memory},
            "cpu": {"cpu.max": f"{int(limits.cpus * period)} {period}"} if _v2() else
                   {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(int(limits.cpus * period))},
        }
        if _v2():
            group = ROOT / self.name
            group.mkdir()
            self.dirs.append(group)
            for controller in REQUIRED:
                if controller not in skip:
                    self._apply(group, settings[controller])
            return
        for controller in REQUIRED:
            if controller in skip:
                continue
            group = ROOT / controller / self.name
            group.mkdir()
            self.dirs.append(group)
            self._apply(group, settings[controller])

    @staticmethod
    def _apply(group: Path, values: dict):
        """Write each limit; a name ending in ``?`` is optional (swap accounting may be off), the others must
        exist."""
        for name, value in values.items():
            optional = name.endswith("?")
            path = group / name.rstrip("?")
            if not path.exists():
                if optional:
                    continue
                raise CgroupError(f"{path} does not exist (is the {name.split('.')[0]} controller enabled?)")
            path.write_text(value)

    def enter(self):
        """Move the calling process into every group (called in the child, before exec)."""
        pid = str(os.getpid())
        for group in self.dirs:
            with open(group / "cgroup.procs", "w") as f:
                f.write(pid)

    def oom_killed(self) -> bool:
        for group in self.dirs:
            for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
                path = group / name
                if path.exists():
                    for line in path.read_text().splitlines():
                        parts = line.split()
                        if len(parts) == 2 and parts[0] == key and int(parts[1]) > 0:
                            return True
            failcnt = group / "memory.failcnt"
            if failcnt.exists() and int(failcnt.read_text() or 0) > 0 and "memory" in str(group):
                return True
        return False

    def remove(self):
        """Kill whatever is left in the groups, then delete them."""
        for group in self.dirs:
            procs = group / "cgroup.procs"
            for _ in range(50):
                try:
                    pids = [int(p) for p in procs.read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def sweep():
    """Remove empty groups left by a worker that was killed."""
    for parent in ([ROOT] if _v2() else [ROOT / c for c in ("pids", "memory", "cpu")]):
        if parent.is_dir():
            for group in parent.glob(PREFIX + "*"):
                try:
                    group.rmdir()
                except OSError:
                    pass
