"""Training runs of learning-curve checks: one sandbox and one trusted environment per run.

Each way a run can fail (the student's code raised, timed out, returned something unusable,
was refused by the environment) becomes the run's ``problem``, in words for the student.
"""
import enum
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from grader import evaluation, progress
from grader.envhost import EnvHost, derived_seed
from grader.errors import RunProblem, SessionEnded, StudentCodeError
from grader.learning.checkpoints import StopRun, checkpoints_on_reset
from grader.learning.integrity import AGREEMENT_EPISODES, Evaluation, credited_eval, final_evaluation
from grader.scoring import iqm, tier_fraction
from grader.spec import RUN_MARGIN_S, LearningCurveSpec


class Skip(enum.Enum):
    """Why a run was not trained at all."""

    TIMEOUT = "timeout"  # an earlier run timed out: this one would too
    DECIDED = "decided"  # the runs finished decided the credit whatever this one returns


@dataclass
class TrainingRun:
    """One training run of a learning curve: what the trusted side recorded and concluded."""

    seed: int
    returns: list = field(default_factory=list)  # every training episode's true return
    eval: float | None = None  # the evaluation it is scored by; None: it produced nothing to evaluate
    problem: str = ""  # why it has no evaluation (or earns nothing), in words for the student
    checkpoints: list = field(default_factory=list)  # evaluations during training (Checkpoint)
    full_credit_at: int | None = None  # the training episode at which it was stopped at full credit
    skipped: Skip | None = None  # why it was not trained; None when it was
    ablated: list = field(default_factory=list)  # the evaluations of the policy with its parameters shuffled
    agreement: float | None = None  # share of the last training episodes' states where eval and training agree
    untrained: str = ""  # why the evaluated policy is not what training trained ('' when it is)
    trusted: bool = False  # its evaluation was played on the trusted side

    def judged_by(self, evaluation: Evaluation):
        self.eval, self.ablated, self.agreement, self.untrained, self.trusted = (
            evaluation.value, evaluation.ablated, evaluation.agreement, evaluation.untrained, evaluation.trusted)


class RunBoard:
    """What the runs of one learning curve share, as they finish (two at a time, say): a run that timed out
    makes the later ones skip (they would time out too), and so do runs whose evaluations already give full
    credit whatever the others return (for an IQM over five runs, four at full credit)."""

    def __init__(self, cfg: LearningCurveSpec, total: int, *, skip_decided: bool = True):
        self.cfg, self.total, self.skip_decided = cfg, total, skip_decided
        self._timed_out = threading.Event()
        self._evals: list[float] = []
        self._lock = threading.Lock()

    @property
    def timed_out(self) -> bool:
        """A run has run out of time."""
        return self._timed_out.is_set()

    def time_out(self):
        """Called by the run that ran out of time."""
        self._timed_out.set()

    def record(self, run: TrainingRun):
        with self._lock:
            self._evals.append(credited_eval(run, self.cfg.full_credit))

    def decided(self) -> bool:
        """Full credit whatever the runs not finished yet return (each counted as 0). Only tiers of the IQM
        decide early: a rule of k runs out of n names every run's result."""
        if not self.cfg.tiers or not self.skip_decided:
            return False
        with self._lock:
            known = list(self._evals)
        missing = self.total - len(known)
        return 0 < missing < self.total and tier_fraction(iqm(np.array(known + [0.0] * missing)), self.cfg.tiers) >= 1


def training_run(host, seed: int, board: RunBoard, train) -> TrainingRun:
    """``train() -> evaluation value`` (a number or an Evaluation) for one seed, with ``host`` serving the
    environment.

    ``board`` is told when a run times out: later runs are skipped rather than made to time out too; it also
    skips them once the finished runs decide the credit. A run stopped at an episode boundary (StopRun) is
    scored by that checkpoint."""
    run = TrainingRun(seed=seed)
    if board.timed_out:
        run.skipped = Skip.TIMEOUT
        run.problem = "not run: an earlier run ran out of time (see above), so the grader skipped the rest"
        host.close()
        return run
    if board.decided():
        run.skipped = Skip.DECIDED
        host.close()
        return run
    progress.track(host)  # its episodes are published while it trains
    try:
        result = train()
        if isinstance(result, Evaluation):
            run.judged_by(result)
        else:
            run.eval = result
        least = board.cfg.min_episodes
        if len(host.episodes) < least and run.eval is not None:
            run.eval = None
            raise RunProblem(f"the run trained {len(host.episodes)} episode{'s' if len(host.episodes) != 1 else ''}; "
                             f"a run must train at least {least} to be scored")
    except StopRun as stop:
        run.eval = stop.checkpoint.value
        if stop.checkpoint.judged is not None:
            run.judged_by(stop.checkpoint.judged)
        if stop.checkpoint.episode > 0:
            run.full_credit_at = stop.checkpoint.episode
    except (RunProblem, StudentCodeError) as exc:
        run.problem = str(exc)
    except SessionEnded as exc:
        run.problem = str(exc)
        if exc.verdict == "timeout":
            board.time_out()
            run.problem += " " + _where_it_stopped(host)
    finally:
        run.returns = host.returns
        run.checkpoints = list(host.checkpoints)
        if host.refusals and run.eval is None:
            run.problem = run.problem or f"the environment refused: {host.refusals[0]}"
        host.close()
        board.record(run)
    return run


def _where_it_stopped(host) -> str:
    """Where a training run was when its time ran out, by the episodes the trusted side recorded."""
    done = len(host.episodes)
    if not done:
        return "It ran out before the first training episode ended."
    return (f"It ran out after {done} training episode{'s' if done > 1 else ''} had ended (the last after "
            f"{host.episodes[-1].length} steps).")


# -- the runs of a learning curve, as a check asks for them (grader.kit) --------------------------------------
def instance_of(class_name: str) -> dict:
    """The policy a running function of the student's module holds, found by its class: the network that
    ``train()`` is training, asked for actions at episode boundaries while it waits for the environment."""
    return {"instance_of": class_name}


@dataclass(frozen=True)
class TrainFunction:
    """Training by a function of the module: ``train(env, episodes, seed=..., **kwargs)`` on the trusted
    environment, given ``cfg.episodes`` (``cfg.extra_episodes`` more resets allowed) and a seed derived from the
    hidden one.

    With ``policy`` (``instance_of("Policy")``), the policy being trained is evaluated during training at
    ``cfg.eval_every`` (a run at full credit stops there), and the value train() returns is kept in the
    sandbox and evaluated, each action chosen here by ``chooser`` from the network's outputs; it must be the
    network the optimiser trained, and its play must come from its parameters (docs/security.md). With
    ``evaluate`` instead, the returned value comes out (a Q table) and ``evaluate(value, host, cfg, seed) ->
    float`` scores it here, raising RunProblem when it cannot be evaluated (``host.transitions`` holds every
    step training took when ``keep_every_step``)."""

    fn: str = "train"
    policy: str | dict | None = None
    chooser: Callable[[object], int] = evaluation.argmax
    evaluate: Callable | None = None
    all_episodes: bool = True  # a run whose train() plays fewer than cfg.episodes is a problem
    kwargs: dict = field(default_factory=dict)  # passed to train() (the warm-up's alpha and gamma)
    keep_every_step: bool = False


@dataclass(frozen=True)
class TrainScript:
    """Training by the module itself, run top to bottom on the trusted environment (DQN's workshop script),
    for at most ``cfg.max_episodes`` episodes. The network evaluated is the one the script's optimiser stepped,
    its parameters read out as arrays and played here in ``architecture`` (the template's); before any step,
    the module global ``policy`` ("q")."""

    policy: str
    architecture: "evaluation.MLP"
    chooser: Callable[[object], int] = evaluation.argmax


def _function_run(ctx, training: TrainFunction, cfg: LearningCurveSpec, seed: int, board: RunBoard) -> TrainingRun:
    host = EnvHost.for_episodes(cfg.env, seed, episodes=cfg.episodes + cfg.extra_episodes,
                                max_episode_steps=cfg.max_episode_steps,
                                keep_episodes=None if training.keep_every_step else AGREEMENT_EPISODES)
    eval_seed = cfg.eval_seed_base + seed

    def train():
        evaluate = training.evaluate
        keep = "_trained_policy" if evaluate is None else None
        with ctx.running_session(session_timeout=cfg.run_timeout_s + RUN_MARGIN_S) as session:
            if training.policy is not None:  # evaluated before any learning and every eval_every episodes
                session.track()
                host.on_reset = checkpoints_on_reset(
                    evaluation.SandboxPolicy(session, training.policy, training.chooser), cfg, eval_seed)
            value = session.call(training.fn, host.arg(), cfg.episodes, seed=derived_seed(seed, "student"),
                                 env_host=host, timeout=cfg.run_timeout_s, keep=keep, **training.kwargs).value
            if training.all_episodes and len(host.episodes) < cfg.episodes:
                raise RunProblem(f"{training.fn} played {len(host.episodes)} episodes instead of {cfg.episodes}")
            if evaluate is None:  # the value train() returned was kept in the sandbox, as keep
                try:
                    return final_evaluation(evaluation.SandboxPolicy(session, keep, training.chooser), cfg,
                                            eval_seed, host)
                except StudentCodeError as exc:
                    raise RunProblem(f"{training.fn} returned a {value} that cannot choose actions: {exc}") from None
        return evaluate(value, host, cfg, seed)

    return training_run(host, seed, board, train)


def _script_run(ctx, training: TrainScript, cfg: LearningCurveSpec, seed: int, board: RunBoard) -> TrainingRun:
    host = EnvHost.for_episodes(cfg.env, seed, episodes=cfg.max_episodes, max_episode_steps=cfg.max_episode_steps,
                                keep_episodes=AGREEMENT_EPISODES)
    eval_seed = cfg.eval_seed_base + seed

    def train():
        agents = []

        def checkpoints(session):  # the policy, evaluated before any learning and every eval_every episodes
            agents.append(evaluation.TrustedNetwork(session, training.policy, training.architecture,
                                                    training.chooser, seed=derived_seed(seed, "fresh")))
            host.on_reset = checkpoints_on_reset(agents[0], cfg, eval_seed)

        with ctx.running_session(env_host=host, load_timeout=cfg.run_timeout_s, before_load=checkpoints,
                                 session_timeout=cfg.run_timeout_s + RUN_MARGIN_S) as session:
            if session.load_error is not None:
                raise RunProblem(str(session.load_error))
            return final_evaluation(agents[0], cfg, eval_seed, host)

    return training_run(host, seed, board, train)


def training_runs(ctx, training: TrainFunction | TrainScript, seeds: Iterable[int] | None = None, *,
                  every_run: bool = False) -> list[TrainingRun]:
    """One run per seed (the spec's hidden seeds by default; a calibration gives its own), each in its own
    sandbox, ``parallel_runs`` at a time; later runs are skipped once a run timed out or the finished ones
    decide the credit, unless ``every_run`` (a calibration measures each run)."""
    cfg = ctx.spec.learning_curve
    seeds = list(cfg.seeds if seeds is None else seeds)
    board = RunBoard(cfg, len(seeds), skip_decided=not every_run)
    if isinstance(training, TrainFunction):
        return ctx.parallel(lambda seed: _function_run(ctx, training, cfg, seed, board), seeds)
    return ctx.parallel(lambda seed: _script_run(ctx, training, cfg, seed, board), seeds)
