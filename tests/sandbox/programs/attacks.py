"""What a student might do to the grader from inside the sandbox, as functions the abuse suite calls there
(tests/sandbox/test_abuse.py loads this file as the "student's" module; some run on the host too, to show the
limit is the sandbox's). Each returns what happened, in words the tests assert on."""
import errno
import os
import signal
import socket
import struct
import time


def _error(exc):
    """An OSError as its errno name (ENOSPC, EFBIG, ENETUNREACH...): what tells one limit from another."""
    return errno.errorcode.get(exc.errno, type(exc).__name__) if exc.errno else type(exc).__name__

def sleep_long():
    time.sleep(3600)

def fork_bomb(cap):
    """Fork until the system refuses (the children wait), or until ``cap`` children when nothing does."""
    children = 0
    while children < cap:
        try:
            pid = os.fork()
        except OSError as exc:
            return f"{_error(exc)} after {children} forks"
        if pid == 0:
            time.sleep(3600)
            os._exit(0)
        children += 1
    return f"no limit after {children} forks"

def memory_bomb(chunk_mb, cap_mb):
    """Anonymous memory, every page touched: counted in the address space and in the memory cgroup. Stops at
    ``cap_mb`` if nothing stops it first."""
    hoard = []
    try:
        while len(hoard) * chunk_mb < cap_mb:
            hoard.append(b"\xff" * (chunk_mb << 20))
    except MemoryError:
        held = len(hoard) * chunk_mb
        hoard.clear()
        return f"MemoryError after {held} MB"
    return f"no limit after {len(hoard) * chunk_mb} MB"

def _write_until_refused(path, cap_bytes):
    """Write into one new file until an OSError or ``cap_bytes``; returns (bytes written, errno name or None)."""
    chunk, written = b"x" * (1 << 20), 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        return 0, _error(exc)
    try:
        while written < cap_bytes:
            written += os.write(fd, chunk[:cap_bytes - written])
    except OSError as exc:
        return written, _error(exc)
    finally:
        os.close(fd)
    return written, None

def fill_disk(path, cap_mb=64):
    """One file, written until refused: 'ENOSPC after 16.0 MB', 'EFBIG after 8.0 MB', 'EROFS after 0.0 MB'."""
    written, error = _write_until_refused(path, cap_mb << 20)
    return f"{error or 'no limit'} after {written / (1 << 20):.1f} MB"

def fill_dir(directory, file_mb, cap_mb, keep=False):
    """Files of ``file_mb`` each (below the file size limit) until refused or ``cap_mb`` in all."""
    paths, total, error = [], 0, None
    while error is None and total < cap_mb << 20:
        paths.append(f"{directory}/fill{len(paths)}")
        written, error = _write_until_refused(paths[-1], min(file_mb << 20, (cap_mb << 20) - total))
        total += written
    if not keep:
        for path in paths:
            try:
                os.unlink(path)
            except OSError:
                pass
    return f"{error or 'no limit'} after {total / (1 << 20):.1f} MB"

def hoard_in_tmpfs(file_mb, cap_mb):
    """Memory outside the address space: files in the tmpfs /work and /tmp, whose pages the memory cgroup
    charges but RLIMIT_AS never sees."""
    return [fill_dir(d, file_mb, cap_mb, keep=True) for d in ("/work", "/tmp")]

def print_100mb():
    chunk = "y" * (1 << 20)
    for _ in range(100):
        print(chunk)

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read(100_000).decode("utf-8", "replace")
    except OSError as exc:
        return _error(exc)

def environment():
    return dict(os.environ)

def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return _error(exc)

def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "connected"
    except OSError as exc:
        return _error(exc)

def connect_abstract(name):
    """Abstract Unix sockets belong to the network namespace: the host's are out of reach without one."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect("\0" + name)
        return "connected"
    except OSError as exc:
        return _error(exc)

def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        return _error(exc)

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
            handles.append(open(f"/work/f{len(handles)}", "w"))  # kept open: the limit is on open files
    except OSError as exc:
        return f"{_error(exc)} after {len(handles)} files"
