"""Prints grading figures per sandbox backend, measured side by side in one run.

- start-up: from asking for a sandbox to the runner's first message (a trivial module loaded)
- per call: one round trip through the protocol (a trivial function)
- warm-up graded: the whole grading of qlearning-cliffwalking's reference solution, end to end
- DQN and REINFORCE graded: the whole grading of the dqn-cartpole and reinforce-cartpole references
  (unit checks, and five and seven training runs), once
- before and after, side by side: each assignment's reference and a typical broken submission graded with
  every run trained to the end of its budget, then with runs stopped when their verdict is known; the
  grader's own share of the time, the unit checks alone, and gradings per hour per core

    .venv/bin/python bench/grading.py [--repeat N] [--no-dqn] [--compare-only [--slug SLUG]]
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
    parser.add_argument("--compare-only", action="store_true", help="only the before/after table")
    parser.add_argument("--slug", help="with --compare-only: only this assignment's submissions")
    parser.add_argument("--no-dqn", action="store_true",
                        help="skip the gradings of the DQN and REINFORCE references (about a minute each per backend)")
    args = parser.parse_args()
    names = available_backends(image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    if args.compare_only:
        return compare(names[-1], settings, only_slug=args.slug)
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
    print("targets: warm-up graded < 10 s; start-up < 1000 ms (docker), < 100 ms (bwrap); "
          "DQN and REINFORCE graded < 180 s")
    if not args.no_dqn:
        compare(names[-1], settings)


# Each assignment's reference and a typical broken submission, graded end to end.
SUBMISSIONS = [("qlearning-cliffwalking", "reference.py"),
               ("qlearning-cliffwalking", "examples/wrong_no_learning_rate.py"),
               ("dqn-cartpole", "reference.py"), ("dqn-cartpole", "examples/wrong_mask_inverted.py"),
               ("reinforce-cartpole", "reference.py"), ("reinforce-cartpole", "examples/wrong_sign.py")]


def compare(backend_name, settings, *, only_slug=None):
    """Before and after, side by side: every run trained to the end of its budget (no evaluation during
    training, no run skipped) against runs stopped when their verdict is known."""
    import dataclasses

    from grader import assignments, pipeline
    from grader.learning.training import RunBoard
    from sandbox import get_backend

    backend = get_backend(backend_name, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    parallel = settings.GRADER_PARALLEL_RUNS
    config = pipeline.GradingConfig(backend=backend, parallel_runs=parallel)
    decided = RunBoard.decided
    print(f"\nwhole gradings on {backend_name}, {parallel} runs at a time: before (every run to the end of its "
          "budget) | after (stopped when the verdict is known)")
    print(f"{'submission':52} {'before':>8} {'after':>8} {'ratio':>6} {'score':>11} {'sandboxes':>9} "
          f"{'grader share':>12} {'units':>6} {'per hour per core':>17}")
    for slug, name in [(s, n) for s, n in SUBMISSIONS if only_slug in (None, s)]:
        folder = assignments.get(slug)
        data = folder.file(name).read_bytes()
        cfg = folder.spec.learning_curve
        before_spec = folder.spec.model_copy(
            update={"learning_curve": cfg.model_copy(update={"eval_every": 0}) if cfg else None})
        results = {}
        for mode, assignment in (("before", dataclasses.replace(folder, spec=before_spec)), ("after", folder)):
            RunBoard.decided = (lambda self: False) if mode == "before" else decided
            t0 = time.perf_counter()
            report = pipeline.grade(assignment, name.split("/")[-1], data, config)
            results[mode] = (time.perf_counter() - t0, report)
        RunBoard.decided = decided
        wall, report = results["after"]
        before, before_report = results["before"]
        timings = report.timings
        # The grader's own share: of the sandboxes' time, what was not spent waiting for the student's code
        # (training, its evaluation's forward passes): start-up, staging, serving and replaying the
        # environment, stepping the evaluation episodes, closing. A core left idle while the last run of an
        # odd number trains alone is not counted here; it is in "per hour per core".
        busy, boxed = timings.get("student_s", 0.0), timings.get("sandbox_s", 0.0)
        share = max(0.0, 1 - busy / boxed) if boxed else 0.0
        cores = min(parallel, timings.get("sandboxes", 1)) if timings.get("run_checks", 0) > 5 else 1
        units = _unit_seconds(folder, data, config)
        per_hour = 3600 / (wall * cores)
        print(f"{slug + ' ' + name:52} {before:>7.1f}s {wall:>7.1f}s {before / wall:>5.1f}x "
              f"{before_report.score:>5g}/{report.score:<5g} {timings.get('sandboxes', 0):>9} "
              f"{share:>11.0%} {units:>5.1f}s {per_hour:>17.0f}")
    print("targets: DQN reference < 30 s, REINFORCE reference < 40 s, the warm-up < 5 s; the five DQN gap checks "
          "(units) < 5 s; the grader's own share < 10%. Per hour per core feeds bench/capacity.py --seconds.")


def _unit_seconds(folder, data, config) -> float:
    """The unit checks alone (the time to first feedback on an idle worker)."""
    from grader import pipeline

    units = folder.phase_checks("units")
    if not units:
        return 0.0
    t0 = time.perf_counter()
    pipeline.grade(folder, "solution.py", data, config, only=units)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
