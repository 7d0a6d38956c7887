"""Per-sandbox control groups for the bwrap backend: a process count, memory and CPU share.

Used where the machine allows it (root, a writable cgroup hierarchy, v1 or v2); elsewhere the
rlimits of the backend are the only limits. Each sandbox gets its own group, so a fork bomb or
a memory bomb in one sandbox cannot starve the others.
"""
import os
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "bellman-sbx-"


def _v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def available() -> bool:
    if os.geteuid() != 0:
        return False
    if _v2():
        return _writable(ROOT) and {"pids", "memory"} <= set((ROOT / "cgroup.controllers").read_text().split())
    return _writable(ROOT / "pids") and _writable(ROOT / "memory")


class SandboxCgroup:
    """One group per sandbox; ``enter`` runs in the child before exec, ``remove`` after it ended."""

    def __init__(self, limits):
        self.name = PREFIX + uuid.uuid4().hex[:12]
        self.dirs = []
        memory = str(limits.memory_mb << 20)
        period = 100_000
        if _v2():
            group = ROOT / self.name
            group.mkdir()
            self.dirs.append(group)
            settings = {"pids.max": str(limits.pids), "memory.max": memory, "memory.swap.max": "0",
                        "cpu.max": f"{int(limits.cpus * period)} {period}"}
            for name, value in settings.items():
                self._set(group / name, value)
            return
        for controller, settings in (
                ("pids", {"pids.max": str(limits.pids)}),
                ("memory", {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory}),
                ("cpu", {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(int(limits.cpus * period))})):
            if not _writable(ROOT / controller):
                continue
            group = ROOT / controller / self.name
            group.mkdir()
            self.dirs.append(group)
            for name, value in settings.items():
                self._set(group / name, value)

    @staticmethod
    def _set(path: Path, value: str):
        if path.exists():
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
