"""Real environments on the trusted side, stepped on behalf of a sandboxed agent.

The sandbox only ever sees observations; the true rewards, episode returns and lengths
are recorded here, and the step and episode budgets are enforced here.
"""
from dataclasses import dataclass, field

import gymnasium
import numpy as np


@dataclass
class Episode:
    ret: float = 0.0
    length: int = 0


def describe_space(space):
    if isinstance(space, gymnasium.spaces.Discrete):
        return {"type": "discrete", "n": int(space.n)}
    if isinstance(space, gymnasium.spaces.Box):
        return {"type": "box", "shape": list(space.shape),
                "low": np.nan_to_num(space.low, posinf=3.4e38, neginf=-3.4e38).tolist(),
                "high": np.nan_to_num(space.high, posinf=3.4e38, neginf=-3.4e38).tolist()}
    raise TypeError(f"unsupported space {space!r}")


def _obs(value):
    if isinstance(value, np.ndarray):
        return value.astype(float).tolist()
    return int(value) if isinstance(value, (int, np.integer)) else value


@dataclass
class EnvHost:
    """One real environment served to one sandbox, with its budget and its record."""

    env_id: str
    seed: int
    max_episode_steps: int
    max_episodes: int
    max_steps: int
    handle: str = "env0"
    episodes: list = field(default_factory=list)
    steps: int = 0
    refusals: list = field(default_factory=list)

    def __post_init__(self):
        self.env = gymnasium.make(self.env_id, max_episode_steps=self.max_episode_steps)
        self._current = None
        self._resets = 0

    def arg(self):
        """The argument that becomes a gymnasium.Env proxy inside the sandbox."""
        # The action space's seed is derived from, not equal to, the hidden environment seed.
        space_seed = (int(self.seed) * 7919 + 17) % 2**31
        return {"$env": {"handle": self.handle, "id": self.env_id, "space_seed": space_seed,
                         "observation_space": describe_space(self.env.observation_space),
                         "action_space": describe_space(self.env.action_space)}}

    @property
    def returns(self):
        return [e.ret for e in self.episodes]

    def handle_request(self, message):
        if message.get("env") != self.handle:
            return self._refuse("unknown environment")
        if message["op"] == "env.reset":
            return self._reset()
        return self._step(message.get("action"))

    def _refuse(self, why):
        self.refusals.append(why)
        return {"op": "env.error", "message": why}

    def _finish_current(self):
        if self._current is not None and self._current.length > 0:
            self.episodes.append(self._current)
        self._current = None

    def _reset(self):
        self._finish_current()
        if self._resets >= self.max_episodes:
            return self._refuse(f"the episode budget of {self.max_episodes} episodes is spent")
        obs, _ = self.env.reset(seed=self.seed if self._resets == 0 else None)
        self._resets += 1
        self._current = Episode()
        return {"op": "env.obs", "obs": _obs(obs), "reward": 0.0, "terminated": False, "truncated": False}

    def _step(self, action):
        if self._current is None:
            return self._refuse("call env.reset() before env.step(), and again after an episode ends")
        if self.steps >= self.max_steps:
            return self._refuse(f"the step budget of {self.max_steps} steps is spent")
        if isinstance(self.env.action_space, gymnasium.spaces.Discrete):
            if isinstance(action, bool) or not isinstance(action, int) or not self.env.action_space.contains(action):
                return self._refuse(f"an action must be an integer from 0 to {self.env.action_space.n - 1}, "
                                    f"got {str(action)[:40]}")
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self.steps += 1
        self._current.ret += float(reward)
        self._current.length += 1
        reply = {"op": "env.obs", "obs": _obs(obs), "reward": float(reward),
                 "terminated": bool(terminated), "truncated": bool(truncated)}
        if terminated or truncated:
            self._finish_current()
        return reply

    def close(self):
        self.env.close()
