"""Prints the server time and the SQL query count of the instructor's pages for a large class:
the course page, each assignment's dashboard and the gradebook CSV, over a seeded database of
500 students x 4 assignments x 10 submissions (20 000 graded submissions, each with its checks,
named mistakes and learning curves), then the same pages for a class a tenth of the size, so that
the query counts can be compared (they must not grow with the class).

    .venv/bin/python bench/dashboard.py [--students 500] [--repeat 5] [--database var/bench/dashboard.sqlite3]

Times are the median of ``--repeat`` requests through Django's test client (no network), measured
in the web process: what the page costs the server, not what a browser adds.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUGS = ["qlearning-cliffwalking", "dqn-cartpole", "reinforce-cartpole", "synthesis-unit6"]
MISTAKES = {"qlearning-cliffwalking": ("q_update", ["alpha_missing", "min_instead_of_max", "terminal_bootstrap"]),
            "dqn-cartpole": ("td_target", ["mask_inverted", "gamma_missing", "reward_missing"]),
            "reinforce-cartpole": ("reinforce_loss", ["loss_sign_reversed", "returns_ignored", "loss_detached"]),
            "synthesis-unit6": ("s1", [])}


def setup(database: Path, url: str | None = None):
    """Django on the SQLite file ``database``, or on the database at ``url`` (PostgreSQL), migrated."""
    database.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = url or f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(slug: str, students: int, per_student: int = 10, seed_: int = 0):
    """A course ``slug`` with ``students`` students, each with ``per_student`` graded submissions per assignment."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from grader import assignments as folders
    from server.courses.models import Assignment, Course, Enrolment
    from server.submissions.models import CheckResult, Submission
    from server.submissions.services import curve_summary

    rng = np.random.default_rng(seed_)
    User = get_user_model()
    with transaction.atomic():
        Course.objects.filter(slug=slug).delete()
        course = Course.objects.create(slug=slug, title=f"Bench {students}")
        instructor, _ = User.objects.get_or_create(username=f"{slug}-irene")
        Enrolment.objects.create(course=course, user=instructor, role=Enrolment.INSTRUCTOR)
        User.objects.filter(username__startswith=f"{slug}-s").delete()
        users = User.objects.bulk_create([User(username=f"{slug}-s{i:04d}", email=f"s{i}@uni.example",
                                               first_name="Stu", last_name=f"Dent {i}") for i in range(students)])
        Enrolment.objects.bulk_create([Enrolment(course=course, user=u) for u in users])
        due = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
        known = folders.registry()
        for slug_ in SLUGS:
            assignment = Assignment.objects.create(course=course, slug=slug_, title=slug_, due_at=due,
                                                   late_policy="penalty", late_penalty_percent=10)
            folder = known[slug_]
            check_id, mistakes = MISTAKES[slug_]
            subs, results = [], []
            for user in users:
                for _ in range(per_student):
                    at = due - timedelta(hours=float(rng.uniform(-12, 72)))
                    level = float(rng.uniform(-20, 500))
                    curves = ([{"label": f"run {r + 1}", "episode_returns": list(np.linspace(10, level, 300))}
                               for r in range(5)] if not folder.kind.reviewed else [])
                    score = float(rng.uniform(0, 100))
                    subs.append(Submission(assignment=assignment, student=user, filename="s.py", original=b"",
                                           source="", status="graded", score=round(score, 1), max_score=100.0,
                                           report={"score": score, "checks": [], "curves": curves},
                                           curve_summary=curve_summary(curves), created_at=at))
            Submission.objects.bulk_create(subs, batch_size=500)
            for sub in Submission.objects.filter(assignment=assignment).only("id"):
                for check in folder.checks[:6]:
                    details = {}
                    if check.id == check_id and mistakes and rng.random() < 0.3:
                        details["mistake"] = mistakes[int(rng.integers(len(mistakes)))]
                    if check.id == "learning_curve":
                        details.update(value=float(rng.uniform(0, 500)), threshold=195.0)
                    results.append(CheckResult(submission_id=sub.pk, check_id=check.id, status="passed",
                                               score=check.points, max_score=check.points, details=details,
                                               mistake=details.get("mistake", "")))
            CheckResult.objects.bulk_create(results, batch_size=1000)
    return course, instructor


def measure(client, path: str, repeat: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times) * 1000, len(ctx.captured_queries)


def pages(course):
    yield "course page", f"/c/{course.slug}/"
    for slug in SLUGS:
        yield f"dashboard {slug}", f"/c/{course.slug}/{slug}/dashboard/"
    yield "gradebook.csv", f"/c/{course.slug}/gradebook.csv"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", type=Path, default=ROOT / "var" / "bench" / "dashboard.sqlite3")
    args = parser.parse_args()
    setup(args.database)
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    small = max(1, args.students // 10)
    figures = {}
    for label, students in (("large", args.students), ("small", small)):
        start = time.perf_counter()
        course, instructor = seed(f"bench-{label}", students)
        print(f"seeded {students} students x {len(SLUGS)} assignments x 10 submissions "
              f"in {time.perf_counter() - start:.0f} s")
        client = Client()
        client.force_login(instructor)
        figures[label] = {name: measure(client, path, args.repeat) for name, path in pages(course)}
    print(f"\n{'page':<36}{'ms (' + str(args.students) + ')':>12}{'queries':>9}"
          f"{'ms (' + str(small) + ')':>12}{'queries':>9}")
    for name in figures["large"]:
        (ms, q), (ms_small, q_small) = figures["large"][name], figures["small"][name]
        print(f"{name:<36}{ms:>12.0f}{q:>9}{ms_small:>12.0f}{q_small:>9}")


if __name__ == "__main__":
    main()
