"""Real environments on the trusted side, stepped on behalf of a sandboxed agent.

The sandbox only ever sees observations; the true rewards, episode returns and lengths
are recorded here, and the step and episode budgets are enforced here.

Two ways of serving an environment:

- stepped: every ``reset`` and ``step`` inside the sandbox is a round trip to this side.
- mirrored (environments whose dynamics are deterministic once an episode has started, listed in
  ``MIRRORED``): each ``reset`` is a round trip that answers with the episode's start (drawn here, from
  the hidden seed); inside, a copy of the environment started from that state answers ``step`` at
  once, and the actions stream out in batches. This side replays every action on the real
  environment, records the true returns from it, and ends the session if the episode the sandbox
  reports ever differs from the real one (a copy that was tampered with). A training loop then pays
  one round trip per episode instead of one per step.
"""
import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np

from grader.errors import EnvMismatch

# Environments served mirrored, with the attribute of the unwrapped environment that holds its state.
MIRRORED = {"CartPole-v1": "state"}
MAX_BATCH = 4096  # actions in one message from a mirrored environment


@dataclass
class Episode:
    ret: float = 0.0
    length: int = 0


@dataclass(frozen=True)
class Transition:
    """One step the sandbox took, as the real environment saw it."""

    obs: Any  # the observation the action was chosen on (a list of floats, or an int)
    action: int
    reward: float
    next_obs: Any
    terminated: bool
    truncated: bool


def derived_seed(seed: int, purpose: str) -> int:
    """A seed for ``purpose`` from a hidden seed, which the derived one does not reveal (a hash, not an
    arithmetic function the sandbox could invert)."""
    digest = hashlib.blake2b(f"{int(seed)}".encode(), digest_size=8, person=purpose.encode()[:16]).digest()
    return int.from_bytes(digest, "big") % 2**31


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
    mirror: bool = True  # where the environment is in MIRRORED
    # Called at every reset the sandbox asks for, once the episode before it is recorded and before it is
    # answered (the sandbox waits): an evaluation of the policy at an episode boundary.
    on_reset: Callable[["EnvHost"], None] | None = None
    checkpoints: list = field(default_factory=list)  # what on_reset recorded
    # The transitions of the last ``keep_episodes`` episodes (each a list of Transition; None: of every episode):
    # the trusted side compares what the policy did while it trained with what it is evaluated on.
    keep_episodes: int | None = 0

    @classmethod
    def for_episodes(cls, env_id: str, seed: int, *, episodes: int, max_episode_steps: int,
                     keep_episodes: int | None = 0) -> "EnvHost":
        """A host whose budget is ``episodes`` whole episodes of at most ``max_episode_steps`` steps, recording
        the transitions of the last ``keep_episodes`` (None: all)."""
        return cls(env_id=env_id, seed=seed, max_episode_steps=max_episode_steps, max_episodes=episodes,
                   max_steps=episodes * max_episode_steps, keep_episodes=keep_episodes)

    def __post_init__(self):
        self.env = gymnasium.make(self.env_id, max_episode_steps=self.max_episode_steps)
        self._current = None
        self._resets = 0
        self._obs = None
        self.mirror = self.mirror and self.env_id in MIRRORED
        self.trace: deque[list[Transition]] = deque(maxlen=self.keep_episodes)

    @property
    def transitions(self) -> list[Transition]:
        """The transitions recorded (those of the last ``keep_episodes`` episodes), in the order they were taken."""
        return [t for episode in self.trace for t in episode]

    def arg(self):
        """The argument that becomes a gymnasium.Env proxy inside the sandbox."""
        space_seed = derived_seed(self.seed, "action-space")
        arg = {"handle": self.handle, "id": self.env_id, "space_seed": space_seed,
               "observation_space": describe_space(self.env.observation_space),
               "action_space": describe_space(self.env.action_space)}
        if self.mirror:
            arg["mirror"] = {"max_episode_steps": self.max_episode_steps, "max_episodes": self.max_episodes,
                             "max_steps": self.max_steps, "batch": MAX_BATCH,
                             "state": MIRRORED[self.env_id]}
        return {"$env": arg}

    @property
    def returns(self):
        return [e.ret for e in self.episodes]

    def handle_request(self, message):
        """The reply to one ``env.*`` message from the sandbox, or None for those that get none.

        Raises EnvMismatch when a mirrored environment's report differs from the real one."""
        if message.get("env") != self.handle:
            if message["op"] == "env.actions":
                raise EnvMismatch("the sandbox reported steps of an unknown environment")
            return self._refuse("unknown environment")
        if message["op"] == "env.step":
            if self.mirror:
                raise EnvMismatch("the sandbox stepped a mirrored environment one step at a time")
            return self._step(message.get("action"))
        if self.mirror:
            self._replay(message.get("actions"), message.get("done"))
        if message["op"] == "env.actions":
            return None
        self._finish_current()
        if self.on_reset is not None and self._resets < self.max_episodes:  # not for a reset the budget refuses
            self.on_reset(self)
        return self._reset()

    def _replay(self, actions, done):
        """Step the real environment with the actions a mirrored copy has taken since the last report."""
        if not isinstance(actions, list) or len(actions) > MAX_BATCH or not isinstance(done, bool):
            raise EnvMismatch("the sandbox sent a malformed report of its steps")
        if not actions:
            if done:
                raise EnvMismatch("the sandbox reported the end of an episode without a step")
            return
        for i, action in enumerate(actions):
            if self._current is None:
                raise EnvMismatch("the sandbox stepped after the end of an episode")
            reply = self._step(action)
            if reply["op"] == "env.error":
                raise EnvMismatch(f"the sandbox stepped where the environment refuses: {reply['message']}")
            ended = reply["terminated"] or reply["truncated"]
            if ended != (done and i == len(actions) - 1):
                where = "ended" if ended else "went on"
                raise EnvMismatch(f"the environment inside the sandbox no longer matches the real one: the real "
                                  f"episode {where} at step {self._current_length(ended)} (was the environment "
                                  f"changed?)")

    def _current_length(self, ended):
        return self.episodes[-1].length if ended and self.episodes else (self._current.length if self._current else 0)

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
        self._obs = _obs(obs)
        if self.keep_episodes != 0:
            self.trace.append([])
        reply = {"op": "env.obs", "obs": _obs(obs), "reward": 0.0, "terminated": False, "truncated": False}
        if self.mirror:
            reply["state"] = _obs(getattr(self.env.unwrapped, MIRRORED[self.env_id]))
        return reply

    def _step(self, action):
        if self._current is None:
            return self._refuse("call env.reset() before env.step(), and again after an episode ends")
        if self.steps >= self.max_steps:
            return self._refuse(f"the step budget of {self.max_steps} steps is spent")
        if isinstance(self.env.action_space, gymnasium.spaces.Discrete):
            if isinstance(action, bool) or not isinstance(action, int) or not self.env.action_space.contains(action):
                return self._refuse(f"an action must be an integer from 0 to {int(self.env.action_space.n) - 1}, "
                                    f"got {str(action)[:40]}")
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self.steps += 1
        self._current.ret += float(reward)
        self._current.length += 1
        reply = {"op": "env.obs", "obs": _obs(obs), "reward": float(reward),
                 "terminated": bool(terminated), "truncated": bool(truncated)}
        if self.keep_episodes != 0 and self.trace:
            self.trace[-1].append(Transition(self._obs, int(action), float(reward), reply["obs"],
                                             bool(terminated), bool(truncated)))
        self._obs = reply["obs"]
        if terminated or truncated:
            self._finish_current()
        return reply

    def close(self):
        self.env.close()
