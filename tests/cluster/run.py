"""The cluster test: Bellman deployed with docker-compose (docker-compose.yml, docker-compose.offline.yml and
tests/cluster/cluster.yml) on one Docker network: the proxy, two web processes, PostgreSQL, Redis, one beat, a
mail worker with an SMTP sink, and three grading hosts, each a container with its own host name running a unit
worker and a trainer that start sandboxes through this machine's Docker Engine.

The offline override's demo service makes the demo course and grades a first submission; its instructor logs in
through the proxy. Then a batch goes through the proxy over HTTP with API tokens (the warm-up, DQN and
REINFORCE); one grading host is killed with `docker kill` once it has graded some and while it grades more, and a
fourth is started. Checked: every submission graded or in an error with its reason, exactly one final report
each, every grading host graded some, nothing graded twice, no sandbox left on this machine, each feedback e-mail
sent once. It prints per-host counts, the p50 and p95 from upload to result, how soon the killed host's gradings
were taken back, and last the line `cluster: N graded, M hosts, lost 0, twice 0` (DESIGN.md). Exit status 0 when
every check holds.

    make cluster-test          # builds the offline images first (docker/offline-images.sh)
"""
import http.cookiejar
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "bellman-cluster"
DATA = Path("/var/lib/bellman/cluster")  # the mail sink's folder, seen by the containers at the same path
WORK = ROOT / "var" / "cluster"
FILES = ["-f", "docker-compose.yml", "-f", "docker-compose.offline.yml", "-f", "tests/cluster/cluster.yml"]
HOSTS = ["grader-1", "grader-2", "grader-3"]
VICTIM, SPARE = "grader-2", "grader-4"
BATCH_TIMEOUT_S = 1500
EXAMPLES = {
    "qlearning-cliffwalking": ["passes_all.py", "wrong_inverted_epsilon.py", "passes_plain_python.py"],
    "dqn-cartpole": ["passes_all.py", "wrong_mask_inverted.py"],
    "reinforce-cartpole": ["passes_all.py", "wrong_sign.py"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
ENV = {**os.environ, "BELLMAN_ENV_FILE": str(WORK / "cluster.env"), "BELLMAN_CLUSTER_DIR": str(WORK),
       "BELLMAN_PORT": str(PORT), "FLOWER_BASIC_AUTH": "cluster:" + secrets.token_urlsafe(8),
       "COMPOSE_PROJECT_NAME": PROJECT}


def say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


def compose(*args, capture=False, check=True) -> str:
    done = subprocess.run(["docker-compose", "-p", PROJECT, *FILES, *args], cwd=ROOT, env=ENV, check=check,
                          capture_output=capture, text=True)
    return done.stdout if capture else ""


def django(script: str) -> dict | list:
    """A Python script run in the web container's Django shell; it prints one JSON document."""
    out = compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", script, capture=True)
    return json.loads(out.strip().splitlines()[-1])


def prepare() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rm", "-rf", str(DATA)], check=True)
    (DATA / "mail").mkdir(parents=True)
    # An operator's .env: .env.example with what they would set, and the test's own timings. What the compose
    # files set for every service (the database, Redis, the sandbox backend, the proxy) is left to them, so that
    # a service they forget to tell fails here as it would at an operator's `up`.
    overrides = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,web,web-2,proxy",
        "BELLMAN_BASE_URL": f"http://127.0.0.1:{PORT}",
        "EMAIL_HOST": "mailsink",
        "EMAIL_PORT": "1025",
        "DEFAULT_FROM_EMAIL": "bellman@cluster.test",
        # A grading host that dies is noticed after six missed heartbeats: 12 s here, a minute by default.
        "BELLMAN_HEARTBEAT_SECONDS": "2",
        "BELLMAN_SWEEP_SECONDS": "5",
        "BELLMAN_API_RATE_SUBMIT": "100/min",
        "GRADER_PARALLEL_RUNS": "1",
    }
    lines = [line for line in (ROOT / ".env.example").read_text().splitlines()
             if line.split("=", 1)[0] not in overrides]
    (WORK / "cluster.env").write_text("\n".join(lines + [f"{k}={v}" for k, v in overrides.items()]) + "\n")
    conf = (ROOT / "docker" / "nginx.conf").read_text()
    upstream = "server web:8000;"
    assert upstream in conf, "docker/nginx.conf's upstream changed: update tests/cluster/run.py"
    (WORK / "nginx.conf").write_text(conf.replace(upstream, "server web:8000;\n        server web-2:8000;"))


def wait_for(what: str, condition, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = condition()
        except Exception:  # noqa: BLE001 - not up yet
            found = None
        if found:
            return found
        time.sleep(every)
    raise SystemExit(f"[cluster] {what} did not happen within {timeout:.0f} s")


def request(method: str, path: str, *, token: str | None = None, body: bytes | None = None,
         content_type: str | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def upload(token: str, slug: str, filename: str, data: bytes) -> int:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/x-python\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, answer = request("POST", f"/api/v1/courses/cluster/assignments/{slug}/submissions", token=token,
                          body=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert status == 201, (status, answer[:300])
    return json.loads(answer)["id"]


SETUP = """
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from server.api.tokens import token_create
from server.courses.models import Assignment, Course, Enrolment
course = Course.objects.create(slug="cluster", title="Cluster test")
for slug in ("qlearning-cliffwalking", "dqn-cartpole", "reinforce-cartpole"):
    Assignment.objects.create(course=course, slug=slug, title=slug, due_at=timezone.now() + timedelta(days=2))
tokens = {}
for i in range(20):
    user = get_user_model().objects.create_user(f"s{i:02d}", email=f"s{i:02d}@cluster.test", password=None)
    Enrolment.objects.create(course=course, user=user, role=Enrolment.STUDENT)
    tokens[user.username] = token_create(user, "cluster")[1]
print(json.dumps(tokens))
"""

STATE = """
import json
from server.submissions.models import GradingRun, Submission
out = []
for s in Submission.objects.filter(assignment__course__slug="cluster").order_by("pk"):
    runs = [{"worker": r.worker, "outcome": r.outcome, "started": r.started_at.isoformat(),
             "finished": r.finished_at.isoformat() if r.finished_at else None, "current": r.pk == s.current_run_id,
             "heartbeat": r.heartbeat_at.isoformat() if r.heartbeat_at else None}
            for r in GradingRun.objects.filter(submission=s).order_by("pk")]
    out.append({"id": s.pk, "slug": s.assignment.slug, "status": s.status, "phase": s.phase, "error": s.error,
                "created": s.created_at.isoformat(), "changed": s.status_changed_at.isoformat(), "runs": runs})
print(json.dumps(out))
"""


def demo_served() -> None:
    """docker-compose.offline.yml's demo service: the demo course and a first grading, once the database is
    migrated; then its instructor logs in through the proxy and the course page is served."""
    compose("up", "-d", "--no-build", "demo")
    log = wait_for("the demo course's first grading", lambda: (lambda text: text if "Graded:" in text else None)(
        compose("logs", "--no-color", "demo", capture=True)), 600, 3)
    password = re.search(r"instructor\s+password: (\S+)", log).group(1)
    jar = http_cookies()
    page = jar.open(f"http://127.0.0.1:{PORT}/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "instructor", "password": password,
                                   "csrfmiddlewaretoken": token}).encode()
    jar.open(urllib.request.Request(f"http://127.0.0.1:{PORT}/login/", data=form,
                                    headers={"Referer": f"http://127.0.0.1:{PORT}/login/"}))
    course = jar.open(f"http://127.0.0.1:{PORT}/c/rl-demo/").read().decode()
    assert "Reinforcement Learning (demo)" in course, course[:300]
    say("the demo course is served through the proxy, its first submission graded")


def http_cookies():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def host_of(worker: str) -> str:
    return worker.rsplit("@", 1)[-1] if worker else ""


def final_runs(submission: dict) -> list[dict]:
    return [r for r in submission["runs"] if r["outcome"] in ("graded", "error")]


def by_host(state: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for submission in state:
        for run in final_runs(submission):
            counts[host_of(run["worker"])] = counts.get(host_of(run["worker"]), 0) + 1
    return counts


def batch() -> list[tuple[str, str, str]]:
    """(student, assignment, example) for 40 submissions: the warm-up for everyone (fourteen twice), DQN and
    REINFORCE for three students each (their trainings are most of the batch's time)."""
    plan = []
    for i in range(20):
        plan.append((f"s{i:02d}", "qlearning-cliffwalking", EXAMPLES["qlearning-cliffwalking"][i % 3]))
    for i in range(6):
        slug = "dqn-cartpole" if i % 2 == 0 else "reinforce-cartpole"
        plan.append((f"s{i:02d}", slug, EXAMPLES[slug][(i // 2) % 2]))
    for i in range(14):
        plan.append((f"s{i + 6:02d}", "qlearning-cliffwalking", EXAMPLES["qlearning-cliffwalking"][(i + 1) % 3]))
    return plan


def run() -> int:
    prepare()
    say(f"bringing up the deployment (project {PROJECT}, proxy on 127.0.0.1:{PORT})")
    compose("up", "-d", "--no-build", "db", "redis")
    compose("up", "-d", "--no-build", "web")  # migrations and static files, then gunicorn
    wait_for("the web process answering", lambda: compose("exec", "-T", "web", "python", "-c",
             "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/login/', timeout=5)",
             capture=True, check=True) == "", 300, every=3)
    compose("up", "-d", "--no-build", "web-2", "proxy", "beat", "mailsink", "mail-worker", *HOSTS)
    wait_for("the proxy answering", lambda: request("GET", "/login/")[0] == 200, 120)
    tokens = django(SETUP)
    def workers():
        found = django("import json; from server.metrics import live_workers; print(json.dumps(live_workers()))")
        return found if len(found) >= 7 else None  # a unit worker and a trainer per host, and the mail worker

    say(f"workers alive: {', '.join(sorted(wait_for('every worker heart-beating', workers, 180, 3)))}")
    demo_served()
    say("submitting the batch through the proxy")
    started = time.monotonic()
    ids = [upload(tokens[student], slug, name, (ROOT / "assignments" / slug / "examples" / name).read_bytes())
           for student, slug, name in batch()]
    say(f"{len(ids)} submissions uploaded in {time.monotonic() - started:.1f} s")

    def victim_busy():
        state = django(STATE)
        graded_there = by_host(state).get(VICTIM, 0)
        running_there = [s["id"] for s in state if s["status"] == "running"
                         and any(r["current"] and host_of(r["worker"]) == VICTIM for r in s["runs"])]
        return (graded_there, running_there) if graded_there and running_there else None

    graded_there, caught = wait_for(f"{VICTIM} grading some and busy with more", victim_busy, 600, 1)
    container = compose("ps", "-q", VICTIM, capture=True).strip()
    subprocess.run(["docker", "kill", container], check=True, capture_output=True)
    killed_at = datetime.now().astimezone()
    say(f"killed {VICTIM} (had graded {graded_there}, was grading submissions {caught}); starting {SPARE}")
    compose("up", "-d", "--no-build", SPARE)

    def finished():
        state = django(STATE)
        return state if all(s["status"] in ("graded", "error") for s in state) else None

    state = wait_for("every submission graded", finished, BATCH_TIMEOUT_S, 5)
    say(f"batch finished {time.monotonic() - started:.0f} s after the first upload")

    def no_sandbox_left():
        out = subprocess.run(["docker", "ps", "-aq", "--filter", "label=bellman.sandbox"], capture_output=True,
                             text=True, check=True).stdout.split()
        return not out

    sandboxes_gone = True
    try:
        wait_for("the sandboxes removed", no_sandbox_left, 180, 5)
    except SystemExit as exc:
        say(str(exc))
        sandboxes_gone = False
    def mails_by_submission():
        found: dict[int, int] = {}
        for path in (DATA / "mail").rglob("*"):
            if path.is_file():
                text = path.read_bytes()
                for s in state:
                    if f"/submissions/{s['id']}/".encode() in text:
                        found[s["id"]] = found.get(s["id"], 0) + 1
        return found

    try:  # the mail worker sends within seconds of each result
        wait_for("every feedback e-mail", lambda: len(mails_by_submission()) >= len(state), 120, 3)
    except SystemExit as exc:
        say(str(exc))
    time.sleep(5)  # and nothing more arrives: a second copy would show now
    mails = mails_by_submission()
    return report(state, ids, killed_at, caught, mails, sandboxes_gone)


def report(state, ids, killed_at, caught, mails, sandboxes_gone) -> int:
    hosts = by_host(state)
    graded = [s for s in state if s["status"] == "graded"]
    errors = [s for s in state if s["status"] == "error"]
    lost = [s["id"] for s in state if s["status"] not in ("graded", "error")]
    lost += sorted(set(ids) - {s["id"] for s in state})
    twice = [s["id"] for s in state if len(final_runs(s)) > 1]
    none = [s["id"] for s in state if not final_runs(s)]
    waits = []
    for s in state:
        end = max(datetime.fromisoformat(r["finished"]) for r in final_runs(s)) if final_runs(s) else None
        if end:
            waits.append((end - datetime.fromisoformat(s["created"])).total_seconds())
    regraded = [max(datetime.fromisoformat(r["finished"]) for r in final_runs(s))
                for s in state if s["id"] in caught and final_runs(s)]
    taken_back = [min(datetime.fromisoformat(r["started"]) for r in s["runs"]
                      if datetime.fromisoformat(r["started"]) > killed_at)
                  for s in state if s["id"] in caught and any(datetime.fromisoformat(r["started"]) > killed_at
                                                               for r in s["runs"])]
    print("grading host   final reports")
    for host in sorted(hosts):
        print(f"  {host:12} {hosts[host]:5d}")
    print(f"upload to result: p50 {statistics.median(waits):.1f} s, p95 "
          f"{sorted(waits)[min(len(waits) - 1, int(0.95 * len(waits)))]:.1f} s over {len(waits)} submissions")
    if taken_back:
        print(f"the killed host's {len(caught)} gradings: taken back by other hosts "
              f"{(min(taken_back) - killed_at).total_seconds():.1f} s after the kill (the first) to "
              f"{(max(taken_back) - killed_at).total_seconds():.1f} s (the last, behind the queue); all re-graded "
              f"{(max(regraded) - killed_at).total_seconds():.1f} s after the kill")
    wrong_mail = {pk: n for pk, n in mails.items() if n != 1}
    unmailed = [s["id"] for s in state if s["id"] not in mails]
    problems = [f"submission {s['id']} ({s['slug']}) ended in error without a reason" for s in errors
                if not s["error"].strip()]
    for s in errors:
        say(f"submission {s['id']} ({s['slug']}) ended in error: {s['error'][:200]}")
    for host in HOSTS + [SPARE]:
        if not hosts.get(host):
            problems.append(f"{host} graded nothing")
    if none:
        problems.append(f"no final report: {none}")
    if twice:
        problems.append(f"graded twice: {twice}")
    if lost:
        problems.append(f"lost: {lost}")
    if not sandboxes_gone:
        problems.append("sandboxes left on the host")
    if wrong_mail or unmailed:
        problems.append(f"e-mails not sent exactly once: {wrong_mail} (none for {unmailed})")
    for problem in problems:
        print("FAILED:", problem)
    print(f"cluster: {len(graded)} graded, {len([h for h in hosts if hosts[h]])} hosts, lost {len(lost)}, "
          f"twice {len(twice)}")
    return 1 if problems else 0


def main() -> int:
    try:
        return run()
    finally:
        if os.environ.get("BELLMAN_CLUSTER_LOGS"):
            compose("--profile", "spare", "logs", "--no-color", "--tail", "200", check=False)
        if not os.environ.get("BELLMAN_CLUSTER_KEEP"):
            # quietly: the contract's line stays the last one printed
            compose("--profile", "spare", "down", "-v", "--remove-orphans", "--timeout", "5", capture=True, check=False)
            subprocess.run("docker ps -aq --filter label=bellman.sandbox | xargs -r docker rm -f", shell=True,
                           capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
