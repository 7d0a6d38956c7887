"""Prints the cost of the proxied environment and of a sandbox, per backend, side by side.

- per step: CartPole-v1 stepped in-process (gymnasium, no sandbox) against the same loop inside a
  sandbox on the proxied environment (grader/envhost.py), stepped (a round trip per step) and
  mirrored (a round trip per episode; the trusted side replays the streamed actions)
- start-to-first-message: from asking for a sandbox to the runner's first reply
- memory: resident memory of one idle sandbox (runner loaded with numpy and gymnasium)
- DQN overhead: a workshop-style DQN (one update per step) trained for a fixed number of steps in
  one sandbox, on a gymnasium env made inside the sandbox and on the proxied env (stepped, mirrored),
  interleaved: the difference is what the proxy adds to training time

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
import random
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
    return steps
'''


def in_process(steps):
    import gymnasium

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
    print(f"{'backend':8} {'stepped us/step':>16} {'ratio':>7} {'mirrored us/step':>17} {'ratio':>7} "
          f"{'start-to-first-message':>24} {'memory':>9}")
    for name in available_backends(image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS):
        backend = get_backend(name, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
        starts, memory, per_step = [], [], {False: [], True: []}
        for _ in range(5):
            t0 = time.perf_counter()
            with Session(backend, "x = 1\n", Limits(), request_timeout=30, session_timeout=60) as s:
                s.load()
                starts.append(time.perf_counter() - t0)
        for _ in range(3):
            with Session(backend, LOOP, Limits(), request_timeout=300, session_timeout=600) as s:
                s.load()
                memory.append(resident_mb(s.sandbox))
                for mirror in (False, True):
                    host = EnvHost(env_id="CartPole-v1", seed=0, max_episode_steps=500, max_episodes=10**6,
                                   max_steps=10**7, mirror=mirror)
                    t1 = time.perf_counter()
                    s.call("loop", host.arg(), args.steps, env_host=host, timeout=300)
                    per_step[mirror].append((time.perf_counter() - t1) / args.steps)
        stepped, mirrored = (statistics.median(per_step[m]) for m in (False, True))
        print(f"{name:8} {stepped * 1e6:>16.1f} {stepped / local:>6.1f}x {mirrored * 1e6:>17.1f} "
              f"{mirrored / local:>6.1f}x {statistics.median(starts) * 1000:>21.0f} ms "
              f"{statistics.median(memory):>6.0f} MB")
        results.append((name, dqn_overhead(backend, args.dqn_steps, Session, Limits, EnvHost)))
    for name, (inside, stepped, mirrored) in results:
        print(f"DQN {args.dqn_steps} steps on {name}: env inside the sandbox {inside:.2f} s; "
              f"proxied, stepped {stepped:.2f} s (overhead {100 * (stepped - inside) / inside:.1f}%), "
              f"mirrored {mirrored:.2f} s (overhead {100 * (mirrored - inside) / inside:.1f}%)")
    print("targets: start-to-first-message < 1000 ms (docker), < 100 ms (bwrap); DQN overhead < 5%")


def dqn_overhead(backend, steps, Session, Limits, EnvHost):
    """Medians over 5 interleaved rounds of seconds with the env inside the sandbox, proxied stepped and
    proxied mirrored (same sandbox, same seed: the same computation but for where the env steps)."""
    times = {"inside": [], False: [], True: []}
    with Session(backend, DQN, Limits(memory_mb=2048), request_timeout=600, session_timeout=1800) as s:
        s.load()
        for _ in range(5):
            # Wall-clock on the trusted side: a mirrored run is over once its last actions are replayed here.
            t0 = time.perf_counter()
            s.call("train", None, steps)
            times["inside"].append(time.perf_counter() - t0)
            for mirror in (False, True):
                host = EnvHost(env_id="CartPole-v1", seed=0, max_episode_steps=500, max_episodes=10**6,
                               max_steps=10**7, mirror=mirror)
                t0 = time.perf_counter()
                s.call("train", host.arg(), steps, env_host=host)
                times[mirror].append(time.perf_counter() - t0)
                assert host.steps == steps
    return tuple(statistics.median(times[k]) for k in ("inside", False, True))


if __name__ == "__main__":
    main()
