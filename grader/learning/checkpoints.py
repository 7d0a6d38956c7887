"""Evaluations of the policy being trained, at episode boundaries with training paused, and the rule that stops a
run at one of them once its verdict is known (``StopRule``): at full credit through learning that lasts, or at
full credit before any learning (which earns nothing)."""
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from grader import evaluation
from grader.errors import BellmanError, StudentCodeError
from grader.learning.integrity import Evaluation, judge
from grader.spec import LearningCurveSpec


@dataclass(frozen=True)
class Checkpoint:
    """The greedy policy evaluated at an episode boundary while it trained (training paused)."""

    episode: int  # training episodes finished before it
    steps: int  # environment steps taken before it
    value: float | None  # mean return on the held-out episodes; None when there was no policy to ask yet
    # Before any learning and at full credit: so were FRESH_INITS copies of it with their parameters initialised
    # afresh (or it has no parameters to learn), which rules out a lucky initialisation (one in twenty
    # untrained CartPole networks balances a while). None: at full credit, but it could not be re-initialised.
    every_init: bool | None = False
    params: int | None = None  # how many parameters the policy has (None: it could not be asked)
    fingerprint: float | None = None  # of their values: whether training steps changed them
    judged: Evaluation | None = None  # at a checkpoint that stops the run: what tells whether learning earned it


class StopRun(BellmanError):
    """Raised at an episode boundary (through ``EnvHost.on_reset``) when the run's verdict is known: its policy
    reached full credit, or was there before any learning. The session is closed; the checkpoint scores it."""

    def __init__(self, checkpoint: Checkpoint):
        super().__init__(f"stopped at episode {checkpoint.episode}")
        self.checkpoint = checkpoint


FRESH_INITS = 2


@dataclass(frozen=True)
class StopRule:
    """When a checkpoint at full credit ends a run, scored by it: every clause holds (each a method, named for
    what it rules out). A policy that only wanders (a broken update leaves the network a random one) would
    otherwise be stopped on its luckiest evaluation; it trains to the end instead, as without checkpoints. The
    levels are measured in CALIBRATION.md."""

    full: float  # full credit
    every: int  # training episodes between checkpoints (0: no checkpoints during training)
    # The last ``every`` training episodes (the student's own behaviour policy, exploration included) averaged this
    # fraction of full credit: learning that lasts, not a transient good policy of a broken update that collapses.
    training_level: float = 1.0
    # This many evaluations in a row found it at full credit: a wandering policy can be at full credit once.
    held_for: int = 2

    def stops(self, checkpoints: list[Checkpoint], returns: list[float]) -> bool:
        """Whether the last of ``checkpoints`` (the run's, in order) ends the run; ``returns``: its training
        episodes' returns so far."""
        return bool(self.every and self.held_at_full(checkpoints) and self.below_full_before_learning(checkpoints)
                    and self.training_at_full(returns) and self.parameters_trained(checkpoints[0], checkpoints[-1]))

    def held_at_full(self, checkpoints: list[Checkpoint]) -> bool:
        """The last ``held_for`` evaluations, all after some learning, were at full credit."""
        held = checkpoints[-self.held_for:]
        return len(held) == self.held_for and all(c.value is not None and c.value >= self.full and c.episode > 0
                                                  for c in held)

    def below_full_before_learning(self, checkpoints: list[Checkpoint]) -> bool:
        """The policy was evaluated before any learning and was below full credit then (a lucky initialisation,
        or a policy that could not be asked, is not stopped on)."""
        first = checkpoints[0]
        return first.episode == 0 and first.value is not None and first.value < self.full

    def training_at_full(self, returns: list[float]) -> bool:
        recent = returns[-self.every:]
        return bool(recent) and float(np.mean(recent)) >= self.training_level * self.full

    @staticmethod
    def parameters_trained(before: Checkpoint, after: Checkpoint) -> bool:
        """Training steps changed the policy's parameters between two checkpoints (it has some, and both could
        be read)."""
        return (before.params or 0) > 0 and before.fingerprint is not None and after.fingerprint is not None \
            and after.fingerprint != before.fingerprint


def _every_init_at_full(agent, cfg: LearningCurveSpec, seed: int) -> bool | None:
    """Whether fresh initialisations of the agent's policy are at full credit too: True also for a policy with no
    parameters (it cannot learn: it is what it is), None when it cannot be re-initialised."""
    try:
        for act in agent.fresh(FRESH_INITS):
            if act is None:
                return True
            if evaluation.play(cfg, seed, act) < cfg.full_credit:
                return False
    except (StudentCodeError, evaluation.NotEvaluable):
        return None
    return True


def checkpoints_on_reset(agent, cfg: LearningCurveSpec, seed: int):
    """An ``EnvHost.on_reset`` that evaluates the policy being trained (``agent``: see grader.evaluation) before
    the first episode, before any learning, and then every ``cfg.eval_every`` episodes when the spec sets it,
    training paused (the time it takes is added to the sandbox's deadlines: it is not the student's).

    Before any learning, a policy at full credit whose fresh initialisations are too (or that has no parameters)
    stops the run, which earns nothing. Later, a checkpoint at full credit stops the run (StopRun), scored by
    it, when ``StopRule`` says so: training itself shows the learning. The checkpoint that stops a run is
    judged as a final evaluation is (ablations, agreement)."""
    every = cfg.eval_every
    full = cfg.full_credit
    rule = StopRule(full, every or 0)

    def on_reset(host):
        done = len(host.episodes)
        if host.checkpoints and not (every and done % every == 0 and done > host.checkpoints[-1].episode):
            return
        started = time.monotonic()
        judged = None
        try:
            try:
                agent.load()
                value = agent.play(cfg, seed)
            except (StudentCodeError, evaluation.NotEvaluable):
                value = None  # the policy does not exist yet, or cannot act yet: nothing to evaluate here
            first = not host.checkpoints and host.steps == 0
            every_init = first and value is not None and value >= full and _every_init_at_full(agent, cfg, seed)
            try:
                params, fingerprint = agent.read()[:2] if value is not None else (None, None)
            except StudentCodeError:
                params, fingerprint = None, None
            checkpoint = Checkpoint(done, host.steps, value, every_init, params, fingerprint)
            if not every_init and rule.stops([*host.checkpoints, checkpoint], host.returns):
                judged = judge(agent, cfg, seed, value, host.transitions)
        finally:
            agent.session.pause(time.monotonic() - started)
        if judged is not None:
            checkpoint = dataclasses.replace(checkpoint, judged=judged)
        host.checkpoints.append(checkpoint)
        if every_init or judged is not None:
            raise StopRun(checkpoint)

    return on_reset
