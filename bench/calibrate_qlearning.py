"""Calibration of qlearning-cliffwalking's learning-curve rule, in the grading sandbox.

Trains the reference solution on many seeds (each run in its own sandbox, through the proxied
environment, exactly as grading does), then prints the per-run pass rate and the probability that a
correct solution gets full credit under the spec's k-of-n rule (binomial, from the measured rate).

    .venv/bin/python bench/calibrate_qlearning.py [--seeds 40] [--backend bwrap]
"""
import argparse
import os
import sys
import threading
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")


def main():
    import django

    django.setup()
    from django.conf import settings

    from grader import assignments
    from grader.pipeline import CheckContext, GradingConfig, Job, normalise
    from sandbox import get_backend

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--backend", default="bwrap")
    args = parser.parse_args()
    warmup = assignments.get("qlearning-cliffwalking")
    checks = warmup.check_functions()
    cfg = warmup.spec["learning_curve"]
    backend = get_backend(args.backend, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    job = Job(assignment=warmup, filename="reference.py", data=warmup.file("reference.py").read_bytes(),
              config=GradingConfig(backend=backend, parallel_runs=2))
    normalise(job)
    seeds = [100_000 + i for i in range(args.seeds)]  # not the hidden grading seeds
    with CheckContext(job) as ctx:
        runs = ctx.map_runs(lambda s: checks._one_run(ctx, cfg, s, threading.Event()), seeds)
    evals = [r["eval"] for r in runs]
    p = sum(e is not None and e >= cfg["threshold"] for e in evals) / len(evals)
    n, k = len(cfg["seeds"]), cfg["runs_required"]
    full = sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    print(f"reference on {len(seeds)} seeds ({args.backend}): greedy returns "
          f"{sorted(set(e for e in evals if e is not None))}, per-run pass rate {p:.3f}")
    print(f"rule: full credit when {k} of {n} runs reach {cfg['threshold']:g}: "
          f"P(full credit | correct solution) = {full:.4f}")


if __name__ == "__main__":
    main()
