"""Prints the cost of the proxied environment and of a sandbox, per backend, side by side.

- per step: CartPole-v1 stepped in-process (gymnasium, no sandbox) against the same loop inside a
  sandbox whose env.reset/env.step are answered by the trusted side (grader/envhost.py)
- start-to-first-message: from asking for a sandbox to the runner's first reply
- memory: resident memory of one idle sandbox (runner loaded with numpy and gymnasium)
- DQN overhead: a workshop-style DQN (one update per step) trained for a fixed number of steps in
  one sandbox, once on a gymnasium env made inside the sandbox and once on the proxied env: the
  difference is what the proxy adds to training time

    .venv/bin/python bench/proxy.py [--steps 20000]
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

LOOP = '''
import gymnasium, numpy as np
def loop(env, steps):
    rng = np.random.default_rng(0)
    env.reset()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        if terminated or truncated:
            env.reset()
    return steps
'''

DQN = '''
import random, time
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
torch.set_num_threads(1)

def train(env, steps, seed=0):
    """A workshop-style DQN: replay buffer, target network with soft updates, one update per step."""
    env = env if env is not None else gym.make("CartPole-v1")
    random.seed(seed); np.random.seed(seed); torch.manual_seed(seed)
    q = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    q_target = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    q_target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=1e-3)
    buf, gamma, tau = [], 0.99, 0.01
    s, _ = env.reset()
    started = time.perf_counter()
    for t in range(steps):
        with torch.no_grad():
            a = env.action_space.sample() if random.random() < 0.1 else int(torch.argmax(q(torch.as_tensor(s))))
        s2, r, terminated, truncated, _ = env.step(int(a))
        buf.append((s, a, r, s2, 0.0 if terminated else 1.0))
        s = s2
        if terminated or truncated:
            s, _ = env.reset()
        if len(buf) >= 64:
            batch = random.sample(buf, 64)
            bs, ba, br, bs2, bm = (torch.as_tensor(np.array(x), dtype=torch.float32) for x in zip(*batch))
            with torch.no_grad():
                max_next_q, _ = q_target(bs2).max(dim=1, keepdim=True)
                y = br[:, None] + bm[:, None] * gamma * max_next_q
            q_estimates = q(bs).gather(1, ba.long()[:, None])
            loss = torch.pow(q_estimates - y, 2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
            with torch.no_grad():
                for p, pt in zip(q.parameters(), q_target.parameters()):
                    pt.mul_(1 - tau).add_(tau * p)
    return time.perf_counter() - started
'''


def in_process(steps):
    import gymnasium
    import numpy as np

    env = gymnasium.make("CartPole-v1")
    namespace = {}
    exec(LOOP, namespace)
    t0 = time.perf_counter()
    namespace["loop"](env, steps)
    return (time.perf_counter() - t0) / steps


def resident_mb(sandbox):
    """Memory the sandbox holds: its cgroup's usage where it has one, else the sum of its processes' RSS."""
    if sandbox.backend == "docker":
        stats = sandbox.container.stats(stream=False)
        return stats["memory_stats"].get("usage", 0) / 2**20
    total, stack = 0, [sandbox.process.pid]
    while stack:
        pid = stack.pop()
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
                stack.append(int(child))
        except OSError:
            continue
    return total / 2**20


def main():
    import django

    django.setup()
    from django.conf import settings

    from grader.envhost import EnvHost
    from grader.session import Session
    from sandbox import Limits, available_backends, get_backend

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--dqn-steps", type=int, default=3000)
    args = parser.parse_args()
    local = statistics.median(in_process(args.steps) for _ in range(3))
    print(f"CartPole-v1, {args.steps} random steps; in-process: {local * 1e6:.1f} us/step")
    results = []
    print(f"{'backend':8} {'proxied us/step':>16} {'ratio':>7} {'start-to-first-message':>24} {'memory':>9}")
    for name in available_backends(image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS):
        backend = get_backend(name, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
        starts, steps, memory = [], [], []
        for _ in range(5):
            t0 = time.perf_counter()
            with Session(backend, "x = 1\n", Limits(), request_timeout=30, session_timeout=60) as s:
                s.load()
                starts.append(time.perf_counter() - t0)
        for _ in range(3):
            with Session(backend, LOOP, Limits(), request_timeout=300, session_timeout=600) as s:
                s.load()
                memory.append(resident_mb(s.sandbox))
                host = EnvHost(env_id="CartPole-v1", seed=0, max_episode_steps=500, max_episodes=10**6,
                               max_steps=10**7)
                t1 = time.perf_counter()
                s.call("loop", host.arg(), args.steps, env_host=host, timeout=300)
                steps.append((time.perf_counter() - t1) / args.steps)
        per_step = statistics.median(steps)
        print(f"{name:8} {per_step * 1e6:>16.1f} {per_step / local:>6.1f}x {statistics.median(starts) * 1000:>21.0f} ms "
              f"{statistics.median(memory):>6.0f} MB")
        results.append((name, dqn_overhead(backend, args.dqn_steps, Session, Limits, EnvHost)))
    for name, (inside, proxied) in results:
        print(f"DQN {args.dqn_steps} steps on {name}: env inside the sandbox {inside:.2f} s, proxied {proxied:.2f} s, "
              f"overhead {100 * (proxied - inside) / inside:.0f}%")
    print("targets: start-to-first-message < 1000 ms (docker), < 100 ms (bwrap); DQN overhead < 5%")


def dqn_overhead(backend, steps, Session, Limits, EnvHost):
    """Median over 3 pairs of (seconds with the env inside the sandbox, seconds proxied)."""
    inside, proxied = [], []
    with Session(backend, DQN, Limits(memory_mb=2048), request_timeout=600, session_timeout=1200) as s:
        s.load()
        for _ in range(3):
            inside.append(s.call("train", None, steps).value)
            host = EnvHost(env_id="CartPole-v1", seed=0, max_episode_steps=500, max_episodes=10**6, max_steps=10**7)
            proxied.append(s.call("train", host.arg(), steps, env_host=host).value)
    return statistics.median(inside), statistics.median(proxied)


if __name__ == "__main__":
    main()
