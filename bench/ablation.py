"""The ablation's false-refusal rate: how often a correct policy's shuffled copies play as well as it does.

A policy written by the student (REINFORCE, actor-critic) is evaluated again with the values of each trainable
parameter shuffled (grader.learning.integrity.judge); when every shuffled copy (ABLATIONS of them) reaches
ABLATED_LEVEL of the trained policy's return (capped at full credit), the run earns nothing. A correct policy is
refused when its shuffled copies balance the pole by luck. This trains the assignment's reference solution here (no
sandbox: the rate is a property of the trained networks), stops each run as grading does (two evaluations in a row
at full credit), shuffles each trained network DRAWS times, and prints the rate per shuffle, per run (every draw of
a run's ABLATIONS passing, estimated from the per-run rates) and what it does to P(full credit).

    .venv/bin/python bench/ablation.py reinforce-cartpole [--seeds 20] [--draws 40]
"""
import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_reference(folder):
    spec = importlib.util.spec_from_file_location("reference", folder.file("reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    import numpy as np
    import torch

    from grader import assignments, evaluation
    from grader.learning import integrity
    from grader.scoring import iqm

    parser = argparse.ArgumentParser()
    parser.add_argument("slug", choices=["reinforce-cartpole", "actor-critic-cartpole"])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--draws", type=int, default=40)
    args = parser.parse_args()
    folder = assignments.get(args.slug)
    cfg = folder.spec.learning_curve
    checks = folder.check_functions()
    choose = checks.TRAINING.chooser
    reference = load_reference(folder)
    full, level = cfg.full_credit, integrity.ABLATED_LEVEL

    def act_of(policy):
        def act(obs):
            with torch.no_grad():
                output = policy(torch.as_tensor(obs, dtype=torch.float32))
            if isinstance(output, tuple):
                output = [o.numpy() for o in output]
            else:
                output = output.numpy()
            return choose(output)
        return act

    started = time.perf_counter()
    rates, evals = [], []
    for seed in range(200_000, 200_000 + args.seeds):
        policy = trained(reference, cfg, seed, act_of)
        policy.eval()
        value = evaluation.play(cfg, cfg.eval_seed_base + seed, act_of(policy))
        evals.append(value)
        saved = [p.detach().clone() for p in policy.parameters()]
        passing = 0
        for draw in range(args.draws):
            generator = torch.Generator().manual_seed(draw)
            with torch.no_grad():
                for p in policy.parameters():
                    flat = p.reshape(-1)
                    p.copy_(flat[torch.randperm(flat.numel(), generator=generator)].view_as(p))
            passing += evaluation.play(cfg, cfg.eval_seed_base + seed, act_of(policy)) >= level * min(value, full)
            with torch.no_grad():
                for p, s in zip(policy.parameters(), saved, strict=True):
                    p.copy_(s)
        rates.append(passing / args.draws)
    elapsed = time.perf_counter() - started
    rates_a = np.array(rates)
    per_run = float(np.mean(rates_a ** integrity.ABLATIONS))
    print(f"{args.slug}: the reference trained on {args.seeds} seeds, {args.draws} shuffles each "
          f"({elapsed:.0f} s); greedy returns {' '.join(f'{v:.0f}' for v in sorted(evals))}")
    print(f"a shuffled copy at {level:g} of the trained return (capped at {full:g}): "
          f"{float(rates_a.mean()):.4f} of shuffles (per run: {' '.join(f'{r:.2f}' for r in sorted(rates))})")
    print(f"a run refused (all {integrity.ABLATIONS} shuffles that well): {per_run:.5f}")
    n = len(cfg.seeds)
    rng = np.random.default_rng(0)
    samples = rng.choice(np.array(evals), size=(50_000, n))
    refused = rng.random(size=samples.shape) < per_run
    p_before = float(np.mean([iqm(row) >= full for row in samples]))
    p_after = float(np.mean([iqm(np.where(r, 0.0, row)) >= full for row, r in zip(samples, refused, strict=True)]))
    print(f"P(full credit | correct), IQM of {n} runs >= {full:g}: {p_before:.4f} without the ablation, "
          f"{p_after:.4f} with it")


def trained(reference, cfg, seed, act_of):
    """The reference's policy trained on CartPole as grading trains it, stopped where grading would stop it: two
    evaluations in a row at full credit, every ``eval_every`` episodes (or at the end of ``cfg.episodes``)."""
    import gymnasium

    env = gymnasium.make(cfg.env, max_episode_steps=cfg.max_episode_steps)
    stops = StopAt(cfg, seed, act_of)
    wrapped = Stopping(env, stops)
    try:
        return reference.train(wrapped, cfg.episodes, seed=seed)
    except StopTraining:
        return stops.policy
    finally:
        env.close()


class StopTraining(Exception):
    pass


class StopAt:
    def __init__(self, cfg, seed, act_of):
        self.cfg, self.seed, self.act_of = cfg, seed, act_of
        self.held, self.episodes, self.policy = 0, 0, None

    def check(self):
        import sys as _sys

        from grader import evaluation

        frame = _sys._getframe()
        while frame is not None and self.policy is None:
            for value in frame.f_locals.values():
                if type(value).__name__ in ("Policy", "ActorCritic"):
                    self.policy = value
            frame = frame.f_back
        if self.policy is None or not self.cfg.eval_every or self.episodes % self.cfg.eval_every or not self.episodes:
            return
        self.policy.eval()
        value = evaluation.play(self.cfg, self.cfg.eval_seed_base + self.seed, self.act_of(self.policy))
        self.policy.train()
        self.held = self.held + 1 if value >= self.cfg.full_credit else 0
        if self.held >= 2:
            raise StopTraining


class Stopping:
    """The environment, asking ``stops`` at every reset whether training has reached full credit."""

    def __init__(self, env, stops):
        self.env, self.stops = env, stops

    def reset(self, **kwargs):
        self.stops.check()
        self.stops.episodes += 1
        return self.env.reset(**kwargs)

    def __getattr__(self, name):
        return getattr(self.env, name)


if __name__ == "__main__":
    main()
