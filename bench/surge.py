"""A deadline surge over real HTTP: 300 students upload within 60 s to gunicorn (several processes)
while a Celery worker grades, on PostgreSQL and again on the SQLite default. Prints, per database, the
upload latency (p50 / p95 / p99), the failed uploads (target 0: no 500, no "database is locked") and the
results page's latency (p50 / p95, target under 200 ms) measured meanwhile.

    .venv/bin/python bench/surge.py [--students 300] [--seconds 60] [--web-workers 4] [--only sqlite|postgres]
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import free_port, start_redis  # noqa: E402

PY = sys.executable
CSRF = "b" * 32


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def start_postgres(var: Path) -> tuple[str, callable]:
    """A PostgreSQL server under ``var`` (scripts/lib.sh's start_postgres), and how to stop it."""
    out = subprocess.run(["bash", "-c", '. scripts/lib.sh; start_postgres >&2; echo "$BELLMAN_TEST_POSTGRES_URL"'],
                         cwd=ROOT, env={**os.environ, "BELLMAN_VAR_DIR": str(var)}, capture_output=True, text=True,
                         check=True)
    url = out.stdout.strip().rsplit("/", 1)[0] + "/postgres"

    def stop():
        subprocess.run(["bash", "-c", ". scripts/lib.sh; stop_started"], cwd=ROOT,
                       env={**os.environ, "BELLMAN_VAR_DIR": str(var)}, capture_output=True)
    return url, stop


def prepare(env: dict, students: int) -> list[tuple[str, str]]:
    """Migrate, create the course and its students, and log each in: [(username, session key)]."""
    code = f"""
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from server.courses.models import Course, Assignment, Enrolment
course, _ = Course.objects.get_or_create(slug="surge", defaults={{"title": "Surge"}})
Assignment.objects.get_or_create(course=course, slug="qlearning-cliffwalking", defaults={{"title": "Warm-up"}})
User = get_user_model()
out = []
for i in range({students}):
    user, _ = User.objects.get_or_create(username=f"surge{{i:03d}}", defaults={{"email": f"s{{i}}@uni.example"}})
    Enrolment.objects.get_or_create(course=course, user=user)
    s = SessionStore()
    s[SESSION_KEY], s[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    out.append((user.username, s.session_key))
print(json.dumps(out))
"""
    import json

    result = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))] if values else float("nan")


def surge(base: str, sessions, seconds: float, source: bytes):
    rng = random.Random(0)
    starts = sorted(rng.uniform(0, seconds) for _ in sessions)
    uploads, failures, pages, submission_urls = [], [], [], []
    lock = threading.Lock()
    began = time.monotonic()

    def upload(start, username, key):
        time.sleep(max(0.0, began + start - time.monotonic()))
        t = time.perf_counter()
        try:
            r = requests.post(f"{base}/c/surge/qlearning-cliffwalking/", files={"file": ("solution.py", source)},
                              data={"csrfmiddlewaretoken": CSRF}, cookies={"sessionid": key, "csrftoken": CSRF},
                              headers={"Referer": base + "/"}, allow_redirects=False, timeout=120)
            ok = r.status_code == 302 and "/submissions/" in r.headers.get("Location", "")
        except requests.RequestException as exc:
            r, ok = exc, False
        with lock:
            uploads.append(time.perf_counter() - t)
            if ok:
                submission_urls.append((r.headers["Location"], key))
            else:
                failures.append(f"{username}: {getattr(r, 'status_code', r)}")

    def reader(stop):
        while not stop.is_set():
            with lock:
                choice = random.choice(submission_urls) if submission_urls else None
            if choice:
                t = time.perf_counter()
                requests.get(base + choice[0], cookies={"sessionid": choice[1]}, timeout=60)
                pages.append(time.perf_counter() - t)
            time.sleep(0.2)

    stop = threading.Event()
    readers = [threading.Thread(target=reader, args=(stop,)) for _ in range(2)]
    for t in readers:
        t.start()
    threads = [threading.Thread(target=upload, args=(s, u, k)) for s, (u, k) in zip(starts, sessions, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    return uploads, failures, pages


def run_one(label: str, database_url: str, args, tmp: Path):
    redis, redis_url = start_redis(tmp)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "DJANGO_SETTINGS_MODULE": "server.settings", "DJANGO_SECRET_KEY": "bench-only-secret",
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "BELLMAN_VAR_DIR": str(tmp)}
    sessions = prepare(env, args.students)
    port = free_port()
    procs = [redis]
    try:
        procs.append(subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "server.wsgi", "-b",
                                       f"127.0.0.1:{port}", "-w", str(args.web_workers), "--timeout", "120"],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "web.log", "w"),
                                      start_new_session=True))
        procs.append(subprocess.Popen([PY, "-m", "celery", "-A", "server.celery", "worker", "--pool", "solo",
                                       "--queues", "celery", "--loglevel", "WARNING"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=open(tmp / "worker.log", "w"),
                                      start_new_session=True))
        wait_port(port)
        for _, key in sessions[:8 * args.web_workers]:  # warm every web process: imports, connections
            requests.get(f"http://127.0.0.1:{port}/c/surge/qlearning-cliffwalking/", cookies={"sessionid": key},
                         timeout=60)
        source = (ROOT / "assignments" / "qlearning-cliffwalking" / "examples" / "passes_all.py").read_bytes()
        uploads, failures, pages = surge(f"http://127.0.0.1:{port}", sessions, args.seconds, source)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM) if proc is not redis else proc.terminate()
            except ProcessLookupError:
                pass
        for proc in procs:
            proc.wait(timeout=30)
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    print(f"{label:<11}{len(uploads):>8}{len(failures):>9}"
          f"{ms(percentile(uploads, 50)):>9}{ms(percentile(uploads, 95)):>9}{ms(percentile(uploads, 99)):>9}"
          f"{len(pages):>8}{ms(percentile(pages, 50)):>9}{ms(percentile(pages, 95)):>9}")
    for failure in failures[:5]:
        print(f"    failed: {failure}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bellman-surge-"))
    tmp.chmod(0o755)  # the PostgreSQL server runs as its own user
    print(f"{args.students} uploads over {args.seconds:g} s, gunicorn -w {args.web_workers}, one grading worker busy")
    print(f"{'database':<11}{'uploads':>8}{'failed':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'pages':>8}"
          f"{'p50 ms':>9}{'p95 ms':>9}")
    try:
        if args.only in (None, "postgres"):
            url, stop = start_postgres(tmp / "pg")
            try:
                run_one("postgres", url.rsplit("/", 1)[0] + "/postgres", args, tmp)
            finally:
                stop()
        if args.only in (None, "sqlite"):
            run_one("sqlite", f"sqlite:///{tmp / 'surge.sqlite3'}", args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
