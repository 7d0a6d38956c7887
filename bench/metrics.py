"""Prints what one Prometheus scrape of /metrics costs the web process for a large class, against a class a
tenth of its size: milliseconds and SQL queries (the queries must not grow with the class; the time grows with
the rows the histograms count, which the database aggregates). Seeded with bench/dashboard.py's class (each
student x 4 assignments x 10 graded submissions) and a finished grading run for each submission.

    .venv/bin/python bench/metrics.py [--students 400] [--repeat 5] [--database var/bench/metrics.sqlite3]
                                      [--database-url postgres://...]

The database is SQLite (``--database``) unless ``--database-url`` names a PostgreSQL database; Redis is read at
REDIS_URL (a broker that does not answer makes the scrape report ``bellman_broker_up 0`` and costs a refused
connection).
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dashboard  # noqa: E402 - after the path

TOKEN = "bench-metrics-token"


def runs_for(course, seed_: int = 0) -> int:
    """A finished grading run per submission of ``course``: waited 1 to 600 s, took 2 to 300 s."""
    import numpy as np

    from server.submissions.models import GradingRun, Submission

    rng = np.random.default_rng(seed_)
    runs = []
    for pk, created in Submission.objects.filter(assignment__course=course).values_list("pk", "created_at"):
        started = created + timedelta(seconds=float(rng.uniform(1, 600)))
        runs.append(GradingRun(submission_id=pk, attempt=1, outcome="graded", started_at=started,
                               finished_at=started + timedelta(seconds=float(rng.uniform(2, 300)))))
    # started_at is auto_now_add (a run starts when it is made): the seeded times are kept by turning that off here.
    field = GradingRun._meta.get_field("started_at")
    field.auto_now_add = False
    try:
        GradingRun.objects.bulk_create(runs, batch_size=1000)
    finally:
        field.auto_now_add = True
    return len(runs)


def measure(repeat: int) -> tuple[float, int, bytes]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client, times = Client(), []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return statistics.median(times) * 1000, len(ctx.captured_queries), response.content


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", type=Path, default=ROOT / "var" / "bench" / "metrics.sqlite3")
    parser.add_argument("--database-url", help="a PostgreSQL database to seed instead (postgres://...)")
    args = parser.parse_args()
    os.environ["BELLMAN_METRICS_TOKEN"] = TOKEN
    dashboard.setup(args.database, args.database_url)
    from django.db import connection
    from django.test.utils import setup_test_environment

    from server.submissions.models import GradingRun

    setup_test_environment()
    GradingRun.objects.all().delete()
    figures = {}
    for label, students in (("small", max(1, args.students // 10)), ("large", args.students)):
        course, _ = dashboard.seed(f"bench-metrics-{label}", students)
        runs = runs_for(course)
        figures[label] = (students, GradingRun.objects.count(), *measure(args.repeat))
        print(f"{label}: {students} students, {runs} grading runs seeded")
    broker = b"bellman_broker_up 1.0" in figures["large"][4]
    print(f"\n{connection.vendor}")
    print(f"{'class':<10}{'students':>10}{'runs counted':>14}{'ms a scrape':>13}{'queries':>9}   (broker "
          f"{'up' if broker else 'not answering'})")
    for label, (students, runs, ms, queries, _) in figures.items():
        print(f"{label:<10}{students:>10}{runs:>14}{ms:>13.0f}{queries:>9}")


if __name__ == "__main__":
    main()
