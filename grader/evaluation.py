"""How a learning curve's policy is evaluated: every action of an evaluation is chosen on the trusted side.

Two kinds of agent, one interface (``act(obs) -> action``, ``read()``, ``fresh()``, ``ablated(draw)``):

- ``TrustedNetwork``: the assignment fixes the architecture (DQN's workshop: the student writes five lines).
  The parameters of the network the training loop's optimiser stepped come out of the sandbox as arrays and
  are loaded here into the assignment's architecture (``MLP``); the evaluation episodes are played here and
  no student code runs during them.
- ``SandboxPolicy``: the student writes the whole network (REINFORCE, actor-critic). The network in the sandbox
  answers each observation with its outputs (probabilities, values) as numbers, and the action is chosen
  here from them by the assignment's chooser. Its play must come from its trained parameters: ``ablated``
  shuffles them in place, everything else about the object kept, and a policy that plays as well without
  them earns nothing (grader.learning.integrity).

See docs/security.md, "What the learning curve proves".
"""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from grader.codec import TensorValue
from grader.envhost import EnvHost, Transition
from grader.errors import StudentCodeError
from grader.session import ACT_EACH
from grader.spec import LearningCurveSpec

Chooser = Callable[[object], int]  # the network's output, as it came out of the sandbox -> an action


def _array(value) -> np.ndarray | None:
    if isinstance(value, TensorValue):
        value = value.array
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return value.astype(float)
    return None


def _argmax(values: np.ndarray | None, what: str) -> int:
    if values is None or values.ndim == 0 or values.size == 0:
        raise StudentCodeError(f"{what} must be a tensor with one value per action", kind="value")
    values = values.reshape(-1) if values.ndim > 1 and values.shape[0] == 1 else values
    if values.ndim != 1:
        raise StudentCodeError(f"{what} for one state must have one value per action; it has the shape "
                               f"{tuple(values.shape)}", kind="value")
    if not np.all(np.isfinite(values)):
        raise StudentCodeError(f"{what} contains NaN or infinite values", kind="value")
    return int(np.argmax(values))


def argmax(output) -> int:
    """The greedy action of a Q network, the most likely action of a policy network: the argmax of the output."""
    return _argmax(_array(output), "the network's output")


def argmax_of_first(output) -> int:
    """For a network that returns a tuple whose first element is the action probabilities (an actor-critic's
    ``(probs, value)``): the most likely action."""
    if not isinstance(output, list) or not output:
        raise StudentCodeError("forward must return a pair (probabilities, value)", kind="value")
    return _argmax(_array(output[0]), "the probabilities forward returns")


def play(cfg: LearningCurveSpec, seed: int, act: Callable[[list], int]) -> float:
    """Mean return of ``cfg.eval_episodes`` episodes on held-out seeds, stepped here, each action ``act(obs)``."""
    host = EnvHost.for_episodes(cfg.env, seed, episodes=cfg.eval_episodes, max_episode_steps=cfg.max_episode_steps)
    try:
        returns = []
        for episode in range(cfg.eval_episodes):
            obs, _ = host.env.reset(seed=seed * 1000 + episode)
            total, done = 0.0, False
            while not done:
                action = in_space(host.env.action_space, act(obs.tolist()))
                obs, reward, terminated, truncated, _ = host.env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns))
    finally:
        host.close()


def play_together(cfg: LearningCurveSpec, seed: int, act_all: Callable[[np.ndarray], np.ndarray]) -> float:
    """``play``'s episodes (the same seeds, the same actions), stepped side by side: ``act_all`` chooses the
    actions of every episode still running from their observations, one row each, in one call (a network played
    here evaluates them as one batch)."""
    hosts = [EnvHost.for_episodes(cfg.env, seed, episodes=1, max_episode_steps=cfg.max_episode_steps)
             for _ in range(cfg.eval_episodes)]
    try:
        observations = [host.env.reset(seed=seed * 1000 + episode)[0] for episode, host in enumerate(hosts)]
        totals, running = [0.0] * len(hosts), list(range(len(hosts)))
        while running:
            actions = act_all(np.array([observations[i] for i in running], dtype=np.float32))
            still = []
            for i, action in zip(running, actions, strict=True):
                env = hosts[i].env
                observations[i], reward, terminated, truncated, _ = env.step(in_space(env.action_space, int(action)))
                totals[i] += float(reward)
                if not (terminated or truncated):
                    still.append(i)
            running = still
        return float(np.mean(totals))
    finally:
        for host in hosts:
            host.close()


def in_space(space, action: int) -> int:
    """``action`` if the environment takes it; otherwise the student's fault, in words (never the environment's
    own assertion on this side)."""
    n = getattr(space, "n", None)
    if type(action) is int and n is not None and 0 <= action < n:  # the common case, without gymnasium's checks
        return action
    if space.contains(action):
        return action
    n = getattr(space, "n", None)
    if n is None:
        raise TypeError(f"unsupported action space {space!r}")
    raise StudentCodeError(
        f"the policy chose action {str(action)[:30]}, but the environment's actions are 0 to {n - 1}: the network "
        f"must have one output per action ({n}, env.action_space.n), not more", kind="value")


def agreement(act_all: Callable[[np.ndarray], np.ndarray], transitions: list[Transition],
              most: int = 300) -> float | None:
    """The share of the states of ``transitions`` (the last training episodes) at which ``act_all`` (the actions
    for observations, one row each) chooses the action training took there; None without any. At most ``most``
    states, evenly spread."""
    if not transitions:
        return None
    picked = transitions[:: max(1, len(transitions) // most)][:most]
    actions = act_all(np.array([t.obs for t in picked], dtype=np.float32))
    return float(np.mean([int(a) == t.action for a, t in zip(actions, picked, strict=True)]))


def fingerprint(arrays: list[np.ndarray]) -> float:
    return float(sum(np.abs(a.astype(float)).sum() + 0.5 * a.astype(float).sum() for a in arrays))


# -- the assignment's own architecture, played here ------------------------------------------------------
@dataclass(frozen=True)
class MLP:
    """Linear layers of these ``sizes`` with ReLU between them, as ``nn.Sequential(nn.Linear(4, 64), nn.ReLU(),
    ...)`` defines them: its parameters are (weight (out, in), bias (out,)) per layer, in that order."""

    sizes: tuple[int, ...]

    def shapes(self) -> list[tuple[int, ...]]:
        return [shape for n_in, n_out in zip(self.sizes, self.sizes[1:], strict=False)
                for shape in ((n_out, n_in), (n_out,))]

    def mismatch(self, arrays: list[np.ndarray]) -> str:
        """What differs between ``arrays`` and this architecture, in words; '' when they fit."""
        got, want = [tuple(a.shape) for a in arrays], self.shapes()
        if got == want:
            return ""
        where = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w), min(len(got), len(want)))
        return (f"the network the optimiser trained has {len(got)} parameter tensors of shapes {got}; the template's "
                f"network ({' -> '.join(map(str, self.sizes))}, ReLU between) has {len(want)}: {want} (they differ "
                f"from tensor {where + 1} on). Keep the template's QNetwork as it is")

    def network(self, arrays: list[np.ndarray]) -> Callable[..., np.ndarray]:
        layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32))
                  for w, b in zip(arrays[::2], arrays[1::2], strict=True)]

        transposed = [(w.T.copy(), b) for w, b in layers]

        def forward(obs):
            """One observation (4,) -> (2,), or a batch (k, 4) -> (k, 2)."""
            x = np.asarray(obs, dtype=np.float32)
            for i, (w, b) in enumerate(transposed):
                x = x @ w + b
                if i < len(transposed) - 1:
                    x = np.maximum(x, 0)
            return x

        return forward

    def fresh(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Parameters as ``nn.Linear`` initialises them (uniform within 1/sqrt(fan_in), weights and biases)."""
        arrays: list[np.ndarray] = []
        for shape in self.shapes():
            bound = 1 / np.sqrt(shape[1] if len(shape) == 2 else arrays[-1].shape[1])
            arrays.append(rng.uniform(-bound, bound, size=shape).astype(np.float32))
        return arrays


# After training's last step in the environment, training takes as many optimiser steps as it took after each
# episode before (DQN's update() after its last step, REINFORCE's end-of-episode step: one), at least one. More are
# parameters written after training, through the optimiser.


def untrained_words(tampering, *, trusted: bool, final: bool = False) -> str:
    """Why parameters are not what optimiser steps made of them in training ('' when they are). A network first seen
    at its first optimiser step is refused only where the template creates the network before training begins
    (``trusted``); elsewhere the ablation and the fresh copies before learning stand guard. Steps after the last
    step in the environment count at the ``final`` evaluation."""
    if tampering is None:
        return ""
    if tampering.steps:
        times = f"{tampering.steps} time{'s' if tampering.steps > 1 else ''}"
        return (f"the network's parameters were changed by something other than its optimiser's steps ({times} "
                "between two steps, e.g. values loaded or written into them)")
    if trusted and tampering.unseen:
        return ("the network the optimiser trained did not exist when training began (the grader looked at the "
                "template's network then): it must be the template's q, trained from its initial values")
    if final and tampering.after_training > max(1, tampering.after_episode):
        return (f"{tampering.after_training} optimiser steps changed the network after training's last step in the "
                f"environment, where training took {max(1, tampering.after_episode)} after each episode before: what "
                "is evaluated must be what training learned from its episodes")
    return ""


class NotEvaluable(Exception):
    """What the trusted side would evaluate does not exist or cannot be evaluated (words for the student)."""


class TrustedNetwork:
    """The network the optimiser stepped (before any step: the module's network named ``name``), its parameters
    read out of the sandbox as arrays and played here in ``architecture``."""

    trusted = True

    def __init__(self, session, name: str, architecture: MLP, choose: Chooser, *, seed: int = 0):
        self.session, self.name, self.architecture, self.choose = session, name, architecture, choose
        self.rng = np.random.default_rng(seed)
        self.arrays: list[np.ndarray] = []
        self.steps = 0

    def load(self, *, before_any_step_ok: bool = True) -> None:
        """Read the parameters now (NotEvaluable when there are none to evaluate or they do not fit)."""
        steps, arrays, self.tampering = self.session.parameters("stepped")
        if steps == 0:
            if not before_any_step_ok:
                raise NotEvaluable(
                    "no optimiser step was taken while your script trained, so no trained network exists to "
                    f"evaluate: the grader evaluates the network the optimiser updates ({self.name}'s parameters, "
                    "optimizer.step() in update())")
            steps, arrays, self.tampering = self.session.parameters(self.name)
        problem = self.architecture.mismatch(arrays)
        if problem:
            raise NotEvaluable(problem)
        self.steps, self.arrays = steps, arrays
        self._forward = self._forward_all = self.architecture.network(arrays)

    def untrained(self, *, final: bool = False) -> str:
        """Why the network loaded is not what learning made of the network that existed before training began
        ('' when it is)."""
        return untrained_words(self.tampering, trusted=True, final=final)

    def act(self, obs) -> int:
        return self.choose(self._forward(obs))

    def act_all(self, observations: np.ndarray) -> np.ndarray:
        """The actions for a batch of observations (one row each), the network run once over them."""
        outputs = self._forward_all(observations)
        if self.choose is argmax:  # the same choice as ``act``'s, row by row, without its checks of a student's output
            return outputs.argmax(axis=1)
        return np.array([self.choose(row) for row in outputs])

    def play(self, cfg: LearningCurveSpec, seed: int) -> float:
        return play_together(cfg, seed, self.act_all)

    def read(self) -> tuple[int, float, int]:
        """(parameters, fingerprint, parameters trained) of what was loaded."""
        total = sum(a.size for a in self.arrays)
        return total, fingerprint(self.arrays), total if self.steps else 0

    tampering = None

    def fresh(self, draws: int) -> Iterator[Callable[[list], int]]:
        """Agents of the same architecture with fresh parameters."""
        for _ in range(draws):
            yield self._acting(self.architecture.network(self.architecture.fresh(self.rng)))

    def _acting(self, forward: Callable[..., np.ndarray]) -> Callable[[list], int]:
        return lambda obs: self.choose(forward(obs))

    @contextmanager
    def ablated(self, draw: int):
        """Not needed here: no student code plays the evaluation. The trained network itself."""
        yield self.act


class SandboxPolicy:
    """A network kept in the sandbox (a module global's name, or ``{"instance_of": ...}``), asked for its outputs;
    the action is chosen here by ``choose``."""

    trusted = False

    def __init__(self, session, name, choose: Chooser):
        self.session, self.name, self.choose = session, name, choose

    def load(self, *, before_any_step_ok: bool = True) -> None:
        pass

    def act(self, obs) -> int:
        return self.choose(self.session.act(obs, policy=self.name, inference=True))

    def act_all(self, observations: np.ndarray) -> np.ndarray:
        """The actions for observations (one row each): ``act``'s, row by row, asked ACT_EACH at a time."""
        rows = observations.tolist()
        outputs = [output for start in range(0, len(rows), ACT_EACH)
                   for output in self.session.act_each(rows[start:start + ACT_EACH], policy=self.name,
                                                       inference=True)]
        return np.array([self.choose(output) for output in outputs], dtype=int)

    def play(self, cfg: LearningCurveSpec, seed: int) -> float:
        return play_together(cfg, seed, self.act_all)

    def read(self) -> tuple[int, float | None, int]:
        total, value, trained, self.tampering = self.session.inspect(self.name)
        return total, value, trained

    tampering = None

    def untrained(self, *, final: bool = False) -> str:
        """Why the network is not what learning made of the network that existed before training began ('' when
        it is)."""
        total, _, trained, self.tampering = self.session.inspect(self.name)
        if total == 0:
            return "the policy evaluated has no parameters to learn"
        if trained < total / 2:
            return (f"only {trained} of the {total} parameters of the policy evaluated were trained by an optimiser "
                    "step (it must be the network training trained, not a copy of it or another network)")
        return untrained_words(self.tampering, trusted=False, final=final)

    def fresh(self, draws: int) -> Iterator[Callable[[list], int] | None]:
        """Copies with their parameters initialised afresh; None for one that has no parameters to learn (it is
        what it is), and StopIteration early when it cannot be re-initialised (see runs)."""
        for draw in range(1, draws + 1):
            total, renewed = self.session.reinit(self.name, draw=draw)
            if total == 0:
                yield None
                return
            if renewed == 0:
                raise NotEvaluable("cannot be re-initialised")
            yield lambda obs: self.choose(self.session.act(obs, policy="_untrained_policy", inference=True))

    @contextmanager
    def ablated(self, draw: int):
        """The same object, its trainable parameters shuffled within each tensor for the length of the block."""
        self.session.ablate(self.name, draw=draw)
        try:
            yield self.act
        finally:
            self.session.ablate(self.name, draw=None)


def greedy_evaluation(session, cfg, seed: int, *, policy, chooser=argmax) -> float:
    """The mean return of the network ``policy`` of the sandbox on the held-out episodes, each action chosen here
    from its outputs by ``chooser``."""
    return play(cfg, seed, SandboxPolicy(session, policy, chooser).act)
