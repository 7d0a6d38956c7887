"""Training runs of learning-curve checks: one sandbox and one trusted environment per run.

Each way a run can fail (the student's code raised, timed out, returned something unusable,
was refused by the environment) becomes the run's ``problem``, in words for the student.
"""
import enum
import threading
from dataclasses import dataclass, field

import numpy as np

from grader import progress
from grader.errors import RunProblem, SessionEnded, StudentCodeError
from grader.learning.checkpoints import StopRun
from grader.learning.integrity import Evaluation, credited_eval
from grader.scoring import iqm, tier_fraction
from grader.spec import LearningCurveSpec


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
