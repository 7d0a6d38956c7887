"""REINFORCE: how the provided train()'s settings change how reliably a correct solution learns.

Trains a solution's Policy, select_action, discounted_returns and reinforce_loss with a train() loop
whose settings are given here (learning rate, entropy bonus, episodes per update), side by side on the
same seeds, each run in its own process outside the sandbox (400 episodes, then the greedy evaluation
and the IQM-of-7 rule of spec.toml). The figures behind the table in
assignments/reinforce-cartpole/CALIBRATION.md:

    .venv/bin/python bench/reinforce_settings.py [--seeds 30] [--file examples/passes_plain_sum.py]
"""
import argparse
import importlib.util
import sys
import time
import tomllib
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FOLDER = ROOT / "assignments" / "reinforce-cartpole"
SPEC = tomllib.loads((FOLDER / "spec.toml").read_text())["learning_curve"]
SETTINGS = {
    "Adam 1e-2": dict(lr=1e-2),
    "Adam 1e-2, entropy bonus 0.01": dict(lr=1e-2, entropy=0.01),
    "Adam 1e-2, entropy bonus 0.05": dict(lr=1e-2, entropy=0.05),
    "Adam 1e-2, one update per two episodes": dict(lr=1e-2, batch=2),
    "Adam 5e-3": dict(lr=5e-3),
}


def load(path):
    spec = importlib.util.spec_from_file_location("solution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(solution, env, episodes, seed, *, lr, entropy=0.0, batch=1, gamma=0.99):
    """The provided train(), with an optional entropy bonus and several episodes per update."""
    import torch

    torch.manual_seed(seed)
    policy = solution.Policy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    losses = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        log_probs, rewards, states, done = [], [], [], False
        while not done:
            states.append(state)
            action, log_prob = solution.select_action(policy, state)
            state, reward, terminated, truncated, _ = env.step(action)
            log_probs.append(log_prob.reshape(()))
            rewards.append(reward)
            done = terminated or truncated
        loss = solution.reinforce_loss(torch.stack(log_probs), solution.discounted_returns(rewards, gamma))
        if entropy:
            probs = policy(np.array(states))
            loss = loss + entropy * (probs * torch.log(probs + 1e-12)).sum(-1).mean()
        losses.append(loss)
        if len(losses) == batch:
            optimizer.zero_grad()
            torch.stack(losses).mean().backward()
            optimizer.step()
            losses = []
    return policy


def one_run(job):
    """Greedy evaluation (as grading does it) of one training run."""
    import gymnasium as gym
    import torch

    path, seed, setting = job
    torch.set_num_threads(1)
    solution = load(path)
    env = gym.make(SPEC["env"], max_episode_steps=SPEC["max_episode_steps"])
    policy = train(solution, env, SPEC["episodes"], seed, **setting)
    returns = []
    eval_seed = SPEC["eval_seed_base"] + seed
    for episode in range(SPEC["eval_episodes"]):
        state, _ = env.reset(seed=eval_seed * 1000 + episode)
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                action = int(torch.argmax(policy(state)))
            state, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def main():
    from grader.scoring import iqm

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--file", type=Path, default=FOLDER / "examples" / "passes_plain_sum.py")
    parser.add_argument("--setting", choices=sorted(SETTINGS), action="append",
                        help="only these settings (default: all)")
    args = parser.parse_args()
    seeds = [100_000 + i for i in range(args.seeds)]
    full = max(t["min_iqm"] for t in SPEC["tiers"])
    n = len(SPEC["seeds"])
    print(f"{args.file.name}: {args.seeds} seeds, {SPEC['episodes']} episodes; P(IQM of {n} >= {full:g}) by "
          "resampling the runs")
    with Pool(2) as pool:
        for name in args.setting or SETTINGS:
            started = time.perf_counter()
            evals = np.array(pool.map(one_run, [(str(args.file), s, SETTINGS[name]) for s in seeds]))
            samples = np.random.default_rng(0).choice(evals, size=(20_000, n))
            p = np.mean([iqm(row) >= full for row in samples])
            print(f"{name:40s} P = {p:.3f}  lowest {evals.min():.0f}  ({time.perf_counter() - started:.0f} s)")
            print("    runs:", " ".join(f"{v:.0f}" for v in sorted(evals)))


if __name__ == "__main__":
    main()
