"""Prints grading figures per sandbox backend, measured side by side in one run.

- start-up: from asking for a sandbox to the runner's first message (a trivial module loaded)
- per call: one round trip through the protocol (a trivial function)
- warm-up graded: the whole grading of qlearning-cliffwalking's reference solution, end to end
- DQN and REINFORCE graded: the whole grading of the dqn-cartpole and reinforce-cartpole references
  (unit checks, and five and seven training runs), once

    .venv/bin/python bench/grading.py [--repeat N] [--no-dqn]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")


def main():
    import django

    django.setup()
    from django.conf import settings

    from grader import assignments, pipeline
    from grader.session import Session
    from sandbox import Limits, available_backends, get_backend

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-dqn", action="store_true",
                        help="skip the gradings of the DQN and REINFORCE references (about a minute each per backend)")
    args = parser.parse_args()
    names = available_backends(image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    warmup = assignments.get("qlearning-cliffwalking")
    reference = warmup.file("reference.py").read_bytes()
    print(f"machine: {os.cpu_count()} cores; backends: {', '.join(names)}; repeat {args.repeat}")
    print(f"{'backend':8} {'start-up (median)':>18} {'per call':>10} {'warm-up graded (median)':>24} {'score':>7}")
    rl_times = []
    for name in names:
        backend = get_backend(name, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
        starts, calls = [], []
        for _ in range(args.repeat * 2):
            t0 = time.perf_counter()
            with Session(backend, "def f(x):\n    return x\n", Limits(), request_timeout=30,
                         session_timeout=60) as s:
                s.load()
                starts.append(time.perf_counter() - t0)
                t1 = time.perf_counter()
                for i in range(500):
                    s.call("f", i)
                calls.append((time.perf_counter() - t1) / 500)
        config = pipeline.GradingConfig(backend=backend, parallel_runs=settings.GRADER_PARALLEL_RUNS)
        grades, score = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = pipeline.grade(warmup, "reference.py", reference, config)
            grades.append(time.perf_counter() - t0)
            score = report.score
        print(f"{name:8} {statistics.median(starts) * 1000:>15.0f} ms {statistics.median(calls) * 1e6:>7.0f} us "
              f"{statistics.median(grades):>22.2f} s {score:>7g}")
        for slug in () if args.no_dqn else ("dqn-cartpole", "reinforce-cartpole"):
            rl = assignments.get(slug)
            t0 = time.perf_counter()
            report = pipeline.grade(rl, "reference.py", rl.file("reference.py").read_bytes(), config)
            rl_times.append(f"{slug} graded on {name}: {time.perf_counter() - t0:.1f} s, "
                             f"score {report.score:g} / {report.max_score:g}")
    print("\n".join(rl_times))
    print("targets: warm-up graded < 10 s; start-up < 1000 ms (docker), < 100 ms (bwrap); DQN and REINFORCE graded < 180 s")


if __name__ == "__main__":
    main()
