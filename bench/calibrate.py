"""Calibration of an assignment's learning-curve rule, in the grading sandbox.

Trains the reference solution on many seeds (other than the hidden grading seeds), each run in its
own sandbox through the proxied environment exactly as grading does, then estimates how often a
correct solution gets full credit under the spec's rule by resampling the measured runs.

    .venv/bin/python bench/calibrate.py dqn-cartpole [--seeds 20] [--backend bwrap] [--file FILE]

With --file, the same measurement for another solution (a broken one, to see that it fails); with --all, for
the reference and every correct example (``examples/passes_*``), one line each. The runs are judged as grading
judges them (grader.learning.integrity.learning_integrity: a run refused because learning did not earn it counts
0), and the figures that decide a refusal are printed: how many runs were refused, the ablations' returns, the
agreements.
"""
import argparse
import os
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

    from grader import assignments
    from sandbox import get_backend

    parser = argparse.ArgumentParser()
    parser.add_argument("slug")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--backend", default="bwrap")
    parser.add_argument("--file", type=Path, help="the solution to train (default: the assignment's reference.py)")
    parser.add_argument("--all", action="store_true", help="the reference and every examples/passes_* file")
    args = parser.parse_args()
    assignment = assignments.get(args.slug)
    backend = get_backend(args.backend, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    if args.all:
        paths = [assignment.file("reference.py"), *sorted((assignment.path / "examples").glob("passes_*"))]
        paths += sorted((assignment.path / "examples").glob("colab_*"))
    else:
        paths = [args.file or assignment.file("reference.py")]
    for path in paths:
        calibrate(assignment, path, args.seeds, backend, args.backend)


def calibrate(assignment, path, n_seeds, backend, backend_name):
    import numpy as np
    from django.conf import settings

    from grader import kit
    from grader.learning.integrity import learning_integrity
    from grader.pipeline import CheckContext, GradingConfig, Job, normalise
    from grader.scoring import iqm

    checks = assignment.check_functions()
    cfg = assignment.spec.learning_curve
    args = argparse.Namespace(slug=assignment.slug, seeds=n_seeds, backend=backend_name)
    job = Job(assignment=assignment, filename=path.name, data=path.read_bytes(),
              config=GradingConfig(backend=backend, parallel_runs=settings.GRADER_PARALLEL_RUNS))
    normalise(job)
    seeds = [100_000 + i for i in range(args.seeds)]
    started = time.perf_counter()
    with CheckContext(job) as ctx:
        # The assignment's own training (checks.TRAINING), run on seeds other than the hidden ones.
        runs = kit.training_runs(ctx, checks.TRAINING, seeds, every_run=True)
    elapsed = time.perf_counter() - started
    # As grading judges them: refused runs count 0 (tiered curves: learning_integrity; the warm-up's replay refuses
    # a run with a problem).
    flags = learning_integrity(runs, cfg.full_credit) if cfg.tiers else []
    refused = [r for r in runs if r.eval is None and r.problem]
    ablated = [v for r in runs for v in r.ablated]
    agreements = [r.agreement for r in runs if r.agreement is not None]
    evals = np.array([r.eval if r.eval is not None else 0.0 for r in runs])
    problems = [r.problem for r in runs if r.problem]
    print(f"{args.slug}: {path.name} on {len(seeds)} seeds ({args.backend}, {elapsed / len(seeds):.1f} s per run "
          f"with {settings.GRADER_PARALLEL_RUNS} in parallel)")
    print(f"per-run evaluation: min {evals.min():.1f}, median {np.median(evals):.1f}, max {evals.max():.1f}; "
          f"problems: {len(problems)}")
    print("runs:", " ".join(f"{v:.0f}" for v in sorted(evals)))
    print(f"refused, or with a problem: {len(refused)} of {len(runs)}; flagged: {len(flags)}"
          + (f" ({refused[0].problem[:160]})" if refused else ""))
    if ablated:
        print(f"ablations (parameters shuffled): {len(ablated)} evaluations, returns "
              + " ".join(f"{v:.0f}" for v in sorted(ablated)))
    if agreements:
        print(f"agreement with the last training episodes: min {min(agreements):.2f}, median "
              f"{np.median(agreements):.2f}, max {max(agreements):.2f}")
    reached = sorted(r.full_credit_at for r in runs if r.full_credit_at)
    if cfg.eval_every:
        print(f"stopped at full credit (evaluations every {cfg.eval_every} episodes): {len(reached)} of "
              f"{len(runs)} runs, at episodes " + (" ".join(map(str, reached)) or "-"))
    n = len(cfg.seeds)
    rng = np.random.default_rng(0)
    samples = rng.choice(evals, size=(20_000, n))
    if cfg.tiers:
        full = min(t.min_iqm for t in cfg.tiers if t.credit == 1.0)
        p = float(np.mean([iqm(row) >= full for row in samples]))
        print(f"rule: full credit when the IQM of {n} runs >= {full:g}: P(full credit | correct) = {p:.4f}")
        for bound in sorted({t.min_iqm for t in cfg.tiers} | {full * 0.75, full * 0.8}):
            print(f"    P(IQM >= {bound:g}) = {np.mean([iqm(row) >= bound for row in samples]):.4f}")
    else:
        k, threshold = cfg.runs_required, cfg.threshold
        p = float(np.mean((samples >= threshold).sum(axis=1) >= k))
        print(f"rule: full credit when {k} of {n} runs reach {threshold:g}: P(full credit | correct) = {p:.4f}")


if __name__ == "__main__":
    main()
