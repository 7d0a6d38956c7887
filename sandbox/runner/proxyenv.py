"""The environments the student's code steps inside the sandbox, served by the trusted side (grader/envhost.py).

``ProxyEnv``: every reset and step is a round trip. ``MirroredEnv``: each reset is a round trip that answers with the
episode's start state; a copy of the environment started from it answers step at once, and the actions stream out
in batches, which the trusted side replays on the real environment (what it records). While it waits for an answer,
the sandbox answers the requests in ``nested`` (evaluations at an episode boundary, training paused).
"""
import os
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

# gymnasium.make as it was before a training script's gym.make was redirected to the proxy (the mirror's copy needs
# the real one).
REAL_MAKE: list = []


class EnvError(RuntimeError):
    """The trusted environment refused a request (budget spent, episode over, bad action)."""


def _space(desc: dict, seed):
    import gymnasium
    import numpy as np

    if desc["type"] == "discrete":
        # Seeded by the trusted side, so that action_space.sample() repeats from run to run.
        return gymnasium.spaces.Discrete(desc["n"], seed=seed)
    return gymnasium.spaces.Box(low=np.array(desc["low"], dtype=np.float32),
                                high=np.array(desc["high"], dtype=np.float32), dtype=np.float32)


def _obs(value):
    import numpy as np

    return np.asarray(value, dtype=np.float32) if isinstance(value, list) else value


def _gym_env():
    import gymnasium

    return gymnasium.Env


class ProxyEnv(_gym_env()):  # type: ignore[misc]  # gymnasium.Env, imported when the runner is
    """Looks like the real environment; every reset and step is answered outside."""

    metadata: dict = {"render_modes": []}

    def __init__(self, channel, spec: dict, nested: dict[str, Callable]):
        self.channel, self.spec, self.nested = channel, spec, nested
        self.handle = spec["handle"]
        self.observation_space = _space(spec["observation_space"], spec.get("space_seed"))
        self.action_space = _space(spec["action_space"], spec.get("space_seed"))
        self.spec_id = spec.get("id")

    def _ask(self, message):
        self.channel.send(message)
        reply = self.channel.receive()
        while reply.get("op") in self.nested:
            # The trusted side evaluates the policy at this episode boundary; training waits meanwhile.
            self.nested[reply["op"]](self.channel, reply)
            reply = self.channel.receive()
        if reply.get("op") == "env.error":
            raise EnvError(reply.get("message", "the environment refused the request"))
        return reply

    def _valid_action(self, action) -> int:
        value = wire.encode(action)
        n = self.spec["action_space"].get("n")
        if isinstance(value, bool) or not isinstance(value, int) or (n is not None and not 0 <= value < n):
            raise EnvError(f"an action must be an integer from 0 to {n - 1}, got {str(action)[:40]}")
        return value

    def reset(self, *, seed=None, options=None):
        reply = self._ask({"op": "env.reset", "env": self.handle})
        return _obs(reply["obs"]), {}

    def step(self, action):
        reply = self._ask({"op": "env.step", "env": self.handle, "action": wire.encode(action)})
        return _obs(reply["obs"]), float(reply["reward"]), bool(reply["terminated"]), bool(reply["truncated"]), {}

    def close(self):
        pass


class MirroredEnv(ProxyEnv):
    """A copy of the real environment, started at each reset from the state the trusted side drew.

    ``step`` is answered here at once; the actions go out in batches, and the trusted side replays them on the
    real environment (which is what it records). The budgets are the trusted side's."""

    def __init__(self, channel, spec: dict, nested: dict[str, Callable]):
        super().__init__(channel, spec, nested)
        self._budget = spec["mirror"]
        self._copy = REAL_MAKE[0](spec["id"], max_episode_steps=self._budget["max_episode_steps"])
        self._state_attr = spec["mirror"].get("state", "state")
        self._pending: list[int] = []
        self._done, self._open, self._steps = False, False, 0
        channel.before_reply.append(self._flush)

    def _report(self):
        report = {"env": self.handle, "actions": self._pending, "done": self._done}
        self._pending, self._done = [], False
        return report

    def _flush(self):
        if self._pending or self._done:
            self.channel.send({"op": "env.actions", **self._report()})

    def reset(self, *, seed=None, options=None):
        import numpy as np

        reply = self._ask({"op": "env.reset", **self._report()})
        self._copy.reset()
        inner = self._copy.unwrapped
        state = reply["state"]
        setattr(inner, self._state_attr, np.array(state, dtype=np.float64) if isinstance(state, list) else state)
        if hasattr(inner, "steps_beyond_terminated"):
            inner.steps_beyond_terminated = None
        self._open = True
        return _obs(reply["obs"]), {}

    def step(self, action):
        if not self._open:
            raise EnvError("call env.reset() before env.step(), and again after an episode ends")
        if self._steps >= self._budget["max_steps"]:
            raise EnvError(f"the step budget of {self._budget['max_steps']} steps is spent")
        value = self._valid_action(action)
        obs, reward, terminated, truncated, _ = self._copy.step(value)
        self._steps += 1
        self._pending.append(value)
        if terminated or truncated:
            self._open, self._done = False, True
            self._flush()
        elif len(self._pending) >= self._budget["batch"]:
            self._flush()
        return obs, float(reward), bool(terminated), bool(truncated), {}


def make_proxy_env(channel, spec: dict, nested: dict[str, Callable]) -> ProxyEnv:
    """The environment ``spec`` (an ENV value of the protocol) describes, served over ``channel``."""
    import gymnasium

    if not REAL_MAKE:
        REAL_MAKE.append(gymnasium.make)  # before a training script's gym.make is redirected to the proxy
    return MirroredEnv(channel, spec, nested) if spec.get("mirror") else ProxyEnv(channel, spec, nested)
