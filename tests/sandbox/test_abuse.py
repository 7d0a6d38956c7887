"""The abuse suite: what a student might do to the grader, on both backends.

Every case must end with a clear outcome (a value the trusted side checks, a StudentCodeError
or a SessionEnded with a verdict), leave nothing running, leak no secret, and leave the
grader able to serve the next submission.
"""
import dataclasses
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from grader import assignments, pipeline
from grader.errors import SessionEnded, StudentCodeError
from grader.session import Session
from sandbox import Limits
from tests.conftest import BACKENDS, EXAMPLES, ROOT, VAR, container_is_gone

CANARY = "canary-7c1e5d-secret"
os.environ["BELLMAN_TEST_CANARY"] = CANARY  # the worker's environment holds a secret the sandbox must not see

# The "student's" module of the attacks: a real file, linted like the rest.
ATTACKS_FILE = Path(__file__).parent / "programs" / "attacks.py"
ATTACKS = ATTACKS_FILE.read_text(encoding="utf-8")


def fresh(backend, source=ATTACKS, **limits):
    session = Session(backend, source, Limits(**{"memory_mb": 512, **limits}), request_timeout=8, session_timeout=60)
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


@pytest.fixture
def open_sandbox(backend):
    """Sandboxes that stay open for several probes (``open_sandbox(**limits)`` starts one); after the test,
    each must be gone without a trace."""
    sessions = []

    def start(source=ATTACKS, **limits):
        sessions.append(fresh(backend, source, **limits))
        return sessions[-1]

    yield start
    for session in sessions:
        session.close()
        nothing_left(backend, session)


def verdict_of(call):
    """(verdict, message) when the call ends in a verdict; ("returned", value) when it returns."""
    try:
        result = call()
    except SessionEnded as exc:
        return exc.verdict, str(exc)
    except StudentCodeError as exc:
        return "raised", str(exc)
    return "returned", result.value


# -- controls: the same probes, run outside any sandbox ------------------------------------------
# A probe that finds nothing proves something only if it finds what it looks for where the protection
# is absent. Each isolation test runs its probes here too, in the test process, and asserts they succeed.
ON_HOST = {}
exec(compile(ATTACKS, str(ATTACKS_FILE), "exec"), ON_HOST)  # noqa: S102 - the tests' own probes


def as_nobody(*command):
    """A command run on the host with the sandbox's uid (when the tests run as root): what a sandbox would get
    from permissions alone, without its namespaces."""
    from sandbox.base import SANDBOX_UID

    def drop():
        if os.getuid() == 0:
            os.setgroups([])
            os.setgid(SANDBOX_UID)
            os.setuid(SANDBOX_UID)

    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=drop, cwd="/", timeout=30,
                          check=False)
    return done.stdout if done.returncode == 0 else f"failed: {done.stderr.strip()}"


def fork_on_host(cap):
    """The fork probe run on the host, in a process group of its own that is killed afterwards (children too)."""
    import signal

    code = ATTACKS + f"\nprint(fork_bomb({int(cap)}), flush=True)\n"
    proc = subprocess.Popen([sys.executable, "-I", "-c", code], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        return proc.stdout.readline().strip()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


def outcome(result, unit):
    """'ENOSPC after 16.0 MB' -> ('ENOSPC', 16.0)."""
    match = re.fullmatch(r"(\S+) after ([\d.]+) " + unit, str(result))
    assert match, result
    return match.group(1), float(match.group(2))


def host_pid(session):
    """A process of the sandbox as the host sees it (it belongs to the sandbox's cgroups)."""
    if session.sandbox.backend == "docker":
        session.sandbox.container.reload()
        return session.sandbox.container.attrs["State"]["Pid"]
    return session.sandbox.process.pid


def cgroup_file(session, controller, name):
    """The sandbox's own file ``name`` of ``controller`` (cgroup v1 or v2), found through /proc/PID/cgroup."""
    unified = None
    for line in Path(f"/proc/{host_pid(session)}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup", controller, path.lstrip("/"), name)
        if controllers == "":
            unified = Path("/sys/fs/cgroup", path.lstrip("/"), name)
    assert unified is not None, f"the sandbox is in no {controller} cgroup"
    assert unified.exists(), f"the sandbox is in no {controller} cgroup"
    return unified


def interfaces(proc_net_dev):
    return sorted(line.split(":")[0].strip() for line in proc_net_dev.splitlines()[2:] if ":" in line)


def host_addresses():
    """The host's own IPv4 addresses other than loopback (its default route's first, then the Docker bridge's
    and any other): what a sandbox with a network could reach."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # sends nothing: only picks the route's source address
            found.append(probe.getsockname()[0])
        except OSError:
            pass
    if shutil.which("ip"):
        listed = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                                capture_output=True, text=True, check=False).stdout
        found += re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)", listed)
    found = [a for a in dict.fromkeys(found) if not a.startswith("127.")]
    if not found:
        pytest.fail("this host has no IPv4 address but loopback: the network isolation test needs one")
    return found


class listening:
    """A TCP or abstract Unix listener on the host; ``reached()`` says whether a connection arrived."""

    def __init__(self, family, address):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1] if family == socket.AF_INET else None

    def reached(self, wait=0.5):
        import select

        if not select.select([self.sock], [], [], wait)[0]:
            return False
        conn, _ = self.sock.accept()
        conn.close()
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


# -- what /proc/self/mountinfo may show inside a sandbox -------------------------------------------
DEVICE_NODES = {"/null", "/zero", "/full", "/random", "/urandom", "/tty"}  # bwrap binds these from the host's /dev
MEMORY_FILESYSTEMS = {"tmpfs", "proc", "devpts", "mqueue"}  # new, private to the sandbox, hold no host data


def mounts(mountinfo):
    """Each line of a mountinfo as a dict: dev, root (the path inside its filesystem), point, opts, fstype, sopts."""
    def unescape(path):
        return re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), path)

    out = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        out.append({"dev": fields[2], "root": unescape(fields[3]), "point": unescape(fields[4]),
                    "opts": set(fields[5].split(",")), "fstype": tail[0],
                    "sopts": set(tail[2].split(",")) if len(tail) > 2 else set()})
    return out


def mount_problems(mountinfo, session, backend):
    """What a sandbox must not have mounted, in words (empty when all is as expected): a mount point other than
    its own, a host filesystem other than its root, its staging folder's submission, runner (and channel), and
    docker's own files; anything writable but the new memory filesystems; /work and /tmp not sized."""
    from django.conf import settings

    from sandbox.base import RUNNER_MOUNT, SUBMISSION_MOUNT, WORK_DIR
    from sandbox.docker_backend import CHANNEL_MOUNT

    docker = backend.name == "docker"
    host_devs = {m["dev"] for m in mounts(Path("/proc/self/mountinfo").read_text())}
    staged = {SUBMISSION_MOUNT: "submission", RUNNER_MOUNT: "runner", **({CHANNEL_MOUNT: "channel"} if docker else {})}
    docker_files = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} if docker else set()
    points = {"/", "/proc", "/dev", WORK_DIR, "/tmp", *staged, *docker_files, *({"/sys"} if docker else ())}
    under = ("/proc/", "/dev/") + (("/sys/",) if docker else ())
    rootfs = Path(getattr(backend, "rootfs", settings.SANDBOX_ROOTFS)).resolve().as_posix()
    container = session.sandbox.container.id if docker else None
    problems, seen = [], {}
    for m in mounts(mountinfo):
        seen[m["point"]] = m
        say = f"{m['point']} ({m['fstype']} {m['root']})"
        host = m["dev"] in host_devs  # a filesystem the host has mounted too: its files are the host's
        writable = "rw" in m["opts"]
        node = m["fstype"] == "devtmpfs" and m["root"] in DEVICE_NODES and m["point"] == "/dev" + m["root"]
        docker_init = docker and m["point"].endswith("/docker-init")
        if m["point"] not in points and not m["point"].startswith(under) and not docker_init:
            problems.append(f"{say}: not a mount a sandbox has")
        if m["point"] == "/" and writable:
            problems.append(f"{say}: the root is writable")
        if writable and host and not node:
            problems.append(f"{say}: a host filesystem, writable")
        if writable and not host and m["fstype"] not in MEMORY_FILESYSTEMS:
            problems.append(f"{say}: writable, and not a new memory filesystem")
        if host and not writable and not (
                node
                or m["point"] == "/" and (docker  # the image's filesystem, assembled by the engine
                                          or rootfs.endswith(m["root"])
                                          and (m["root"] != "/" or os.path.ismount(rootfs)))
                or m["point"] in staged and m["root"].endswith(f"/{session.dir.name}/{staged[m['point']]}")
                or m["point"] in docker_files and m["root"].endswith(f"/{container}/{m['point'].rsplit('/', 1)[1]}")
                or docker and m["point"].endswith("/docker-init")
                or docker and m["fstype"] in ("cgroup", "cgroup2") and m["point"].startswith("/sys/fs/cgroup/")):
            problems.append(f"{say}: a host folder or file that is not this sandbox's own")
    work_size = f"size={session.sandbox.limits.work_mb << 10}k"
    for point in ("/", "/proc", "/dev", *staged):
        if point not in seen:
            problems.append(f"{point}: not mounted")
    for point in (WORK_DIR, "/tmp"):
        m = seen.get(point)
        if not (m and m["fstype"] == "tmpfs" and m["root"] == "/" and m["dev"] not in host_devs
                and "rw" in m["opts"] and work_size in m["sopts"]):
            problems.append(f"{point}: not a new tmpfs of {session.sandbox.limits.work_mb} MB")
    return problems


@pytest.fixture(scope="module")
def host_files():
    """Files on the host that no sandbox may read: the server's secret key, database and code, and a SQLite
    database and a canary made here, world-readable (so that only the sandbox's mounts keep them out, not
    their permissions). The canary comes first."""
    from django.conf import settings

    place = Path(tempfile.mkdtemp(prefix="sandbox-canary-"))
    place.chmod(0o755)
    canary = place / "canary.txt"
    canary.write_text(CANARY)
    database = VAR / "test" / f"sandbox-probe-{os.getpid()}.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE secret (value TEXT)")
        conn.execute("INSERT INTO secret VALUES (?)", (CANARY,))
    conn.close()
    for path in (canary, database):
        path.chmod(0o644)
    server_db = settings.DATABASES["default"]
    files = [canary, database] + [path for path in (
        VAR / "secret_key", Path(str(server_db["NAME"])) if server_db["ENGINE"].endswith("sqlite3") else None,
        ROOT / "server" / "settings.py", ROOT / "assignments" / "qlearning-cliffwalking" / "reference.py",
        ROOT / "assignments" / "qlearning-cliffwalking" / "checks.py") if path is not None and path.is_file()]
    yield files
    shutil.rmtree(place, ignore_errors=True)
    database.unlink(missing_ok=True)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
class TestAbuse:
    def test_a_long_sleep_times_out(self, attack):
        assert verdict_of(lambda: attack("sleep_long", timeout=1))[0] == "timeout"

    def test_a_fork_bomb_is_contained(self, open_sandbox):
        """It ends by the sandbox's pids cgroup, not a timeout nor RLIMIT_NPROC: fork fails with EAGAIN before
        `pids` processes, and the cgroup counts the refusal (pids.events)."""
        inside = open_sandbox()
        pids = inside.sandbox.limits.pids
        # The children wait; a limit that does not hold stops the probe at 4 x pids, not the machine.
        error, forks = outcome(inside.call("fork_bomb", 4 * pids, timeout=20).value, "forks")
        assert error == "EAGAIN", (error, forks)
        assert forks < pids, (error, forks)
        assert cgroup_file(inside, "pids", "pids.max").read_text().split() == [str(pids)]
        events = dict(line.split() for line in cgroup_file(inside, "pids", "pids.events").read_text().splitlines())
        assert int(events["max"]) > 0
        # The control: on the host, the same probe forks past the sandbox's limit.
        assert fork_on_host(pids + 8) == f"no limit after {pids + 8} forks"

    def test_a_memory_bomb_is_stopped(self, attack, backend):
        """Anonymous memory, pages touched, 256 MB allowed. docker: an OOM kill by the container's memory limit
        (not a timeout). bwrap: RLIMIT_AS equals the memory cgroup's limit, and the address space is never smaller
        than what is resident, so for anonymous memory the rlimit always refuses first, below the limit (the
        cgroup's own case is the next test)."""
        verdict, result = verdict_of(lambda: attack("memory_bomb", 16, 1024, timeout=30, memory_mb=256))
        if backend.name == "docker":
            assert verdict == "memory", (verdict, result)
            assert "killed: out of memory" in result, (verdict, result)
        else:
            assert verdict == "returned", (verdict, result)
            error, held = outcome(result, "MB")
            assert error == "MemoryError", result
            assert 192 <= held < 256, result  # the address space limit is memory_mb

    def test_memory_outside_the_address_space_is_stopped_by_the_memory_cgroup(self, attack):
        """Files in the tmpfs /work and /tmp are memory no rlimit sees: 2 x 112 MB of them in a sandbox of 128 MB
        must end in an OOM kill by the memory cgroup (docker's limit, bwrap's group), named as such."""
        verdict, result = verdict_of(lambda: attack("hoard_in_tmpfs", 16, 112, timeout=30, memory_mb=128, work_mb=112))
        assert verdict == "memory", (verdict, result)
        assert "killed: out of memory" in result, (verdict, result)

    def test_filling_the_disk_stops_at_the_work_dir_size(self, open_sandbox):
        """A full /work or /tmp ends with ENOSPC at the tmpfs's size (files each under the file size limit); one
        large file ends with EFBIG at RLIMIT_FSIZE, before the tmpfs is full: each limit on its own."""
        inside = open_sandbox(work_mb=16, file_size_mb=8)
        for directory in ("/work", "/tmp"):
            error, written = outcome(inside.call("fill_dir", directory, 4, 64).value, "MB")
            assert error == "ENOSPC", (directory, error, written)
            assert 15 <= written <= 16, (directory, error, written)
            assert inside.call("fill_disk", f"{directory}/big", 64).value == "EFBIG after 8.0 MB"
        # The controls: on the host, the same probes pass both sizes.
        with tempfile.TemporaryDirectory() as place:
            assert ON_HOST["fill_dir"](place, 4, 20) == "no limit after 20.0 MB"
            assert ON_HOST["fill_disk"](f"{place}/big", 12) == "no limit after 12.0 MB"

    @pytest.mark.parametrize("directory", ["/dev/shm", "/dev"])
    def test_shared_memory_and_dev_are_refused_or_sized(self, attack, directory):
        """Writing under /dev (POSIX shared memory included) is refused, or ends with ENOSPC at a size below the
        memory limit: never an unsized tmpfs that only the memory cgroup (or nothing) stops."""
        verdict, result = verdict_of(lambda: attack("fill_dir", directory, 16, 1024, timeout=30))
        assert verdict == "returned", (verdict, result)
        error, written = outcome(result, "MB")
        assert (error in ("EACCES", "EROFS", "EPERM", "ENOENT") and written == 0
                or error == "ENOSPC" and written < 512), result

    def test_printing_100_mb_ends_the_session_with_a_verdict(self, attack):
        verdict, message = verdict_of(lambda: attack("print_100mb"))
        assert verdict == "output"
        assert "printed more than 4 MB" in message

    def test_the_host_redis_and_the_outside_are_unreachable(self, open_sandbox):
        """What only a network namespace of its own gives: no interface but lo; the host's own addresses (its
        default route's, the Docker bridge's) have no route ("Network is unreachable"); 127.0.0.1 is the
        sandbox's own lo, so a listener on the host's never sees a connection, and neither does an abstract Unix
        socket (those belong to the network namespace too). Each probe is also run on the host, where it must
        reach the listener: without the isolation these assertions fail."""
        inside = open_sandbox()
        assert interfaces(inside.call("read_text", "/proc/net/dev").value) == ["lo"]
        assert len(interfaces(ON_HOST["read_text"]("/proc/net/dev"))) > 1  # control
        addresses = host_addresses()
        name = f"bellman-test-{uuid.uuid4().hex}"
        with listening(socket.AF_INET, ("0.0.0.0", 0)) as tcp, listening(socket.AF_UNIX, "\0" + name) as abstract:
            for address in addresses:
                assert inside.call("connect", address, tcp.port).value == "ENETUNREACH", address
            assert inside.call("connect", "127.0.0.1", tcp.port).value == "ECONNREFUSED"
            assert inside.call("connect_abstract", name).value == "ECONNREFUSED"
            assert inside.call("connect", "198.51.100.1", 80).value == "ENETUNREACH"  # the outside: no route
            assert not tcp.reached(wait=0.2)
            assert not abstract.reached(wait=0)
            # The controls: the same probes, from the host, reach both listeners.
            for address in [*addresses, "127.0.0.1"]:
                assert ON_HOST["connect"](address, tcp.port) == "connected", address
                assert tcp.reached(), address
            assert ON_HOST["connect_abstract"](name) == "connected"
            assert abstract.reached()

    def test_no_secret_is_in_the_environment(self, attack):
        env = attack("environment").value
        assert CANARY not in json.dumps(env)
        assert not any(k.startswith(("DJANGO", "REDIS", "DATABASE", "BELLMAN_TEST")) for k in env)
        assert CANARY not in attack("read", "/proc/1/environ").value

    def test_server_files_and_other_submissions_cannot_be_read(self, open_sandbox, backend, host_files):
        """The real files, at their real paths: the server's secret key, its database, its code, a SQLite file
        and a canary made for this, another sandbox's staging folder and /work, the folder of the root
        filesystem. The controls read each on the host (the canary as the sandbox's uid: its permissions let
        anyone read it, only the mounts keep it out). Nothing read is ever put in an assertion's message."""
        from django.conf import settings

        inside = open_sandbox()
        other = open_sandbox(ATTACKS + "\nMARK = 'another-students-work'\n")
        assert other.call("fill_disk", "/work/theirs", 1).value == "no limit after 1.0 MB"
        theirs = other.dir / "submission" / "submission.py"
        assert "another-students-work" in ON_HOST["read"](str(theirs))  # control
        for path in [*host_files, theirs]:
            readable_on_host = ON_HOST["read"](str(path)) not in ("ENOENT", "EACCES", "EPERM")
            assert readable_on_host, path  # control
            seen = inside.call("read", str(path)).value
            assert seen in ("ENOENT", "EACCES"), (path, f"{len(seen)} characters read")
        assert as_nobody("cat", str(host_files[0])) == CANARY  # control: its permissions alone let the sandbox's uid in
        rootfs = Path(getattr(backend, "rootfs", settings.SANDBOX_ROOTFS))
        for folder in (other.dir, inside.dir, rootfs, rootfs.parent):  # /var/lib/bellman, where the rootfs lives
            assert isinstance(ON_HOST["listing"](str(folder)), list), folder  # control
            assert inside.call("listing", str(folder)).value == "ENOENT", folder
        assert "submission" in ON_HOST["listing"](str(other.dir))
        assert inside.call("listing", "/tmp").value == []
        assert inside.call("listing", "/work").value == []
        assert inside.call("listing", "/submission").value == ["submission.py"]
        assert "another-students-work" not in inside.call("read", "/submission/submission.py").value
        # Each sandbox's /work and /tmp is a filesystem of its own, not one shared with the other sandbox.
        ours, others = ({m["point"]: m["dev"] for m in mounts(s.call("read_text", "/proc/self/mountinfo").value)}
                        for s in (inside, other))
        assert ours["/work"] != others["/work"]
        assert ours["/tmp"] != others["/tmp"]

    def test_only_its_own_mounts_are_visible(self, open_sandbox, backend):
        """/proc/self/mountinfo inside: the root read-only; /work and /tmp new tmpfs of the work size; of the host's
        files only the staging folder's submission and runner (docker: and channel, and its own hosts, hostname,
        resolv.conf and init), all read-only; nothing else writable but new memory filesystems (/proc, /dev). The
        control: the same check over the host's own mounts finds what a sandbox must not have."""
        inside = open_sandbox()
        assert mount_problems(inside.call("read_text", "/proc/self/mountinfo").value, inside, backend) == []
        host = mount_problems(ON_HOST["read_text"]("/proc/self/mountinfo"), inside, backend)
        assert any("a host filesystem, writable" in p or "not this sandbox's own" in p for p in host), host

    @pytest.mark.parametrize("path", ["/submission/submission.py", "/opt/bellman/runner/runner.py",
                                      "/etc/passwd", "/usr/bin/evil"])
    def test_writing_outside_the_work_dir_fails(self, attack, path):
        """EROFS: read-only mounts, not file permissions, are what refuse (the sandbox's uid could not write
        there anyway; a mount made writable by mistake must fail this test)."""
        assert attack("fill_disk", path).value == "EROFS after 0.0 MB"

    def test_forged_protocol_messages_end_the_session(self, attack):
        verdict, message = verdict_of(lambda: attack("forge_message"))
        assert verdict == "protocol"
        assert "unknown message" in message
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
        assert type(value) is float
        assert value == 1.0
        assert value != 2.0

    def test_open_files_are_limited(self, attack):
        error, opened = outcome(attack("too_many_files").value, "files")
        assert error == "EMFILE"
        assert opened < Limits().open_files


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
    assert curve.score == 0
    assert report.score == 60
    assert all(max(c["episode_returns"]) <= 0 for c in report.curves)  # the true returns, not 1000
    assert '"score": 100.0' in report.output_tail  # printed, and ignored


def test_no_secret_reaches_the_report_and_the_next_submission_is_served(grading_config, monkeypatch):
    # A secret key of its own, distinctive enough to be searched for (the run's may be as short as "x").
    secret_key = f"django-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("DJANGO_SECRET_KEY", secret_key)
    # Staging folders in a folder of this test's own: other runs on the machine stage in /tmp at the same time.
    staging = Path(tempfile.mkdtemp(prefix="abuse-staging-"))
    staging.chmod(0o755)
    grading_config = dataclasses.replace(grading_config, tmp_root=str(staging))
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
    assert report.status == "graded"
    assert report.score == 0
    assert CANARY not in text
    assert secret_key not in text
    assert "SECRET_KEY = env_str" not in text
    after = graded(grading_config, GOOD)
    assert after.score == 100
    assert list(staging.iterdir()) == []  # every staging folder is removed
    staging.rmdir()


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
    assert len(seen[True][1]) > 50
    assert seen[True][2] == 3000


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_tampered_mirror_ends_the_session_and_inflated_rewards_change_nothing(backend):
    host = cartpole(True)
    with Session(backend, MIRRORED, Limits(), request_timeout=60, session_timeout=120) as session:
        session.load()
        verdict, message = verdict_of(lambda: session.call("tamper", host.arg(), 1000, env_host=host))
    assert verdict == "environment"
    assert "no longer matches the real one" in message
    # The real episode ended after a few steps, whatever the copy said; that is what is recorded.
    assert len(host.returns) == 1
    assert host.returns[0] == host.steps < 50

    inflated, honest = cartpole(True), cartpole(True)
    with Session(backend, MIRRORED, Limits(), request_timeout=60, session_timeout=120) as session:
        session.load()
        session.call("play", honest.arg(), 2000, env_host=honest)
        session.call("inflate", inflated.arg(), 2000, env_host=inflated)
    assert inflated.returns == honest.returns
    assert max(honest.returns) < 500
