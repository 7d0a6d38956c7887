"""Time to first feedback while the trainers are busy: 50 DQN training jobs wait on the training queue
(one trainer busy with the first), then a student uploads a DQN submission; prints the seconds from the
upload to its unit checks on the page, and to the whole grade if --wait-all.

    .venv/bin/python bench/first_feedback.py [--waiting 50] [--repeat 3]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import start_redis  # noqa: E402

SLUG = "dqn-cartpole"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiting", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bellman-feedback-"))
    redis, redis_url = start_redis(tmp)
    os.environ.update({"DATABASE_URL": f"sqlite:///{tmp / 'feedback.sqlite3'}", "REDIS_URL": redis_url,
                       "DJANGO_SETTINGS_MODULE": "server.settings", "DJANGO_SECRET_KEY": "bench-only-secret",
                       "BELLMAN_VAR_DIR": str(tmp)})
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    from server.courses.models import Assignment, Course, Enrolment
    from server.submissions.models import Submission
    from server.submissions.services import submission_create

    call_command("migrate", verbosity=0)
    course = Course.objects.create(slug="feedback", title="Feedback")
    assignment = Assignment.objects.create(course=course, slug=SLUG, title="DQN")
    data = (ROOT / "assignments" / SLUG / "examples" / "passes_all.py").read_bytes()
    User = get_user_model()

    def submit(name):
        user = User.objects.create(username=name)
        Enrolment.objects.create(course=course, user=user)
        with transaction.atomic():
            return submission_create(assignment=assignment, student=user, filename="solution.py", data=data)

    procs = []

    def worker(queues, name):
        procs.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "server.celery", "worker",
                                       "--pool", "solo", "--queues", queues, "--hostname", f"{name}@%h",
                                       "--loglevel", "WARNING"],
                                      cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                                      stderr=open(tmp / f"{name}.log", "w"), start_new_session=True))

    try:
        worker("celery", "units")
        backlog = [submit(f"backlog{i}") for i in range(args.waiting)]
        deadline = time.monotonic() + 60 + 10 * args.waiting
        while time.monotonic() < deadline and Submission.objects.filter(
                pk__in=[s.pk for s in backlog], phase=Submission.TRAINING_QUEUED).count() < args.waiting:
            time.sleep(1)
        worker("training", "trainer")
        time.sleep(5)  # the trainer takes the first job; the others wait
        print(f"{args.waiting} DQN training jobs waiting, one trainer busy, one unit worker")
        seconds = []
        for i in range(args.repeat):
            start = time.monotonic()
            mine = submit(f"student{i}")
            while not Submission.objects.filter(pk=mine.pk, phase=Submission.TRAINING_QUEUED).exists():
                if time.monotonic() - start > 300:
                    raise SystemExit("no feedback after 300 s")
                time.sleep(0.1)
            seconds.append(time.monotonic() - start)
            checks = Submission.objects.get(pk=mine.pk).check_results.count()
            print(f"upload {i + 1}: {checks} unit checks on the page after {seconds[-1]:.1f} s")
        print(f"first feedback: median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s (target 10 s)")
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        redis.terminate()
        redis.wait()


if __name__ == "__main__":
    main()
