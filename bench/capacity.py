"""Capacity planning: replays a deadline surge against N worker cores and prints, per N, the time from
upload to result (p50, p95, and p95 of the last ten minutes' spike), so that a course can size its
grading hosts (docs/deploy.md).

The surge (server/submissions/sizing.py, which `manage.py sizing` uses too): each student submits one
to three times; 15% of the uploads spread over the last three days, 60% in the last hours (exponential,
mean 3 h before the deadline), 25% in a spike over the last ten minutes. Each upload is one of the
course's code assignments, with its measured grading time (``--seconds``, defaults from bench/grading.py
on this machine, +-20% per grading). A grading takes ``--cores-per-grading`` cores (GRADER_PARALLEL_RUNS
training runs at once), one grading per worker slot, first come first served, new submissions before
regrades (none here).

    .venv/bin/python bench/capacity.py [--students 400] [--cores 2 4 8 16 32] [--seconds dqn=80 ...]
"""
import argparse
import os
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench")  # nothing is signed: the surge model needs Django's models
import django  # noqa: E402

django.setup()

from server.submissions.sizing import DEFAULT_SECONDS, arrivals, percentile, simulate  # noqa: E402


def minutes(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=400)
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--cores-per-grading", type=int, default=2)
    parser.add_argument("--seconds", nargs="*", default=[], help="slug=seconds, the grading time of each assignment")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seconds = dict(DEFAULT_SECONDS)
    for item in args.seconds:
        slug, value = item.split("=")
        seconds[slug] = float(value)
    times = arrivals(args.students, random.Random(args.seed))
    spike = sum(1 for t in times if t >= -600)
    print(f"{len(times)} uploads by {args.students} students, {spike} of them in the last 10 minutes; grading "
          f"seconds: {', '.join(f'{k} {v:g}' for k, v in seconds.items())}; {args.cores_per_grading} cores a grading")
    print(f"{'cores':>6} {'p50':>10} {'p95':>10} {'p95 last 10 min':>16} {'last result after deadline':>28}")
    for cores in args.cores:
        slots = max(1, cores // args.cores_per_grading)
        results = simulate(times, seconds, slots, random.Random(args.seed + 1))
        waits = [w for _, w in results]
        late = [w for t, w in results if t >= -600]
        finish = max(t + w for t, w in results)
        print(f"{cores:>6} {minutes(statistics.median(waits)):>10} {minutes(percentile(waits, 95)):>10} "
              f"{minutes(percentile(late, 95)):>16} {minutes(max(0.0, finish)):>28}")


if __name__ == "__main__":
    main()
