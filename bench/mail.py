"""Prints what a burst of feedback e-mails costs: 400 graded submissions' messages rendered into the
outbox, then sent through it to a local SMTP sink (another process, on loopback) at the configured
rate and unthrottled: seconds in all, connections opened, messages per second. Then the grading time
of the warm-up's reference solution alone and while a mail worker (another process) sends a burst,
side by side, to show that mail does not slow grading.

    .venv/bin/python bench/mail.py [--messages 400] [--rate 10] [--no-grading]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.services import free_port, start_redis  # noqa: E402


def setup(database: Path, port: int):
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    os.environ.update({"DATABASE_URL": f"sqlite:///{database}", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
                       "DJANGO_SETTINGS_MODULE": "server.settings"})
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def burst(n: int):
    """``n`` students, each with a graded submission, and their feedback e-mails in the outbox."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from grader.report import Report, ScoredCheck
    from server.courses.models import Assignment, Course, Enrolment
    from server.submissions.grading import claim, report_persist
    from server.submissions.models import Submission

    User = get_user_model()
    with transaction.atomic():
        course = Course.objects.create(slug=f"mail-{time.time_ns()}", title="Mail bench")
        assignment = Assignment.objects.create(course=course, slug="qlearning-cliffwalking", title="Warm-up")
        users = User.objects.bulk_create([User(username=f"{course.slug}-{i}", email=f"s{i}@uni.example",
                                               first_name="Stu", last_name=str(i)) for i in range(n)])
        Enrolment.objects.bulk_create([Enrolment(course=course, user=u) for u in users])
        for user in users:
            submission = Submission.objects.create(assignment=assignment, student=user, filename="s.py",
                                                   original=b"", source="", status=Submission.QUEUED)
            report = Report(assignment=assignment.slug, max_score=100.0)
            for check_id, score, points in (("epsilon_greedy", 30, 30), ("q_update", 0, 30),
                                            ("learning_curve", 40, 40)):
                report.add(ScoredCheck(id=check_id, status="passed" if score else "failed", score=score,
                                       max_score=points, feedback="A line of feedback.\\nAnother line."))
            report_persist(submission, claim(submission.pk), report)


def start_sink(port: int, folder: Path):
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "mailsink", "--port", str(port),
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


def send(rate: float) -> tuple[float, object]:
    from server.notifications.services import outbox_flush

    start = time.perf_counter()
    result = outbox_flush(rate=rate)
    return time.perf_counter() - start, result


def grading_seconds(repeat: int) -> float:
    from django.conf import settings

    from grader import assignments, pipeline
    from sandbox import get_backend

    folder = assignments.get("qlearning-cliffwalking")
    config = pipeline.GradingConfig(backend=get_backend(settings.SANDBOX_BACKEND, image=settings.SANDBOX_IMAGE,
                                                        rootfs=settings.SANDBOX_ROOTFS), parallel_runs=2)
    data = folder.file("reference.py").read_bytes()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        pipeline.grade(folder, "reference.py", data, config)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second (BELLMAN_MAIL_RATE)")
    parser.add_argument("--no-grading", action="store_true", help="skip the grading-time comparison")
    parser.add_argument("--flush-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, default=ROOT / "var" / "bench" / "mail.sqlite3")
    args = parser.parse_args()
    if args.flush_only:  # the mail worker of the grading comparison
        os.environ.update({"DATABASE_URL": f"sqlite:///{args.database}", "EMAIL_HOST": "127.0.0.1",
                           "EMAIL_PORT": str(args.port), "DJANGO_SETTINGS_MODULE": "server.settings"})
        import django

        django.setup()
        send(args.rate)
        return
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bellman-mail-"))
    redis, os.environ["REDIS_URL"] = start_redis(folder)
    setup(args.database, port)
    sink = start_sink(port, folder / "mail")
    try:
        from server.notifications.models import Message

        start = time.perf_counter()
        burst(args.messages)
        print(f"{args.messages} graded e-mails rendered into the outbox: {time.perf_counter() - start:.1f} s")
        for label, rate in ((f"at {args.rate:g}/s (BELLMAN_MAIL_RATE)", args.rate), ("unthrottled", 0)):
            Message.objects.update(state=Message.PENDING, sent_at=None)
            seconds, result = send(rate)
            print(f"sent {label:<32} {result.sent} messages in {seconds:6.1f} s over {result.connections} "
                  f"connection(s): {result.sent / seconds:6.1f} messages/s")
        received = len(list((folder / "mail").glob("*.eml")))
        print(f"the sink received {received} messages ({2 * args.messages} sent)")
        if args.no_grading:
            return
        alone = grading_seconds(3)
        Message.objects.update(state=Message.PENDING, sent_at=None)
        mailer = subprocess.Popen([sys.executable, __file__, "--flush-only", "--rate", str(args.rate),
                                   "--port", str(port), "--database", str(args.database)], env=os.environ.copy())
        busy = grading_seconds(3)
        still_sending = mailer.poll() is None
        mailer.wait()
        ended = "" if still_sending else "; the burst ended before the gradings"
        print(f"warm-up reference graded alone: {alone:.2f} s; while a mail worker sends {args.messages} messages: "
              f"{busy:.2f} s (ratio {busy / alone:.2f}{ended})")
    finally:
        for proc in (sink, redis):
            proc.terminate()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
