"""Training runs of learning-curve checks: one sandbox and one trusted environment per run.

Each way a run can fail (the student's code raised, timed out, returned something unusable,
was refused by the environment) becomes the run's ``problem``, in words for the student.
"""
import dataclasses
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from grader import evaluation, progress
from grader.errors import BellmanError, SessionEnded, StudentCodeError
from grader.report import Outcome
from grader.scoring import bootstrap_ci, iqm, k_of_n_fraction, runs_passing
from grader.spec import LearningCurveSpec


class RunProblem(BellmanError):
    """The run finished, but what it produced cannot be evaluated."""


class StopRun(BellmanError):
    """Raised at an episode boundary (through ``EnvHost.on_reset``) when the run's verdict is known: its policy
    reached full credit, or was there before any learning. The session is closed; the checkpoint scores it."""

    def __init__(self, checkpoint):
        super().__init__(f"stopped at episode {checkpoint.episode}")
        self.checkpoint = checkpoint


@dataclass
class Run:
    """One training run of a learning curve: what the trusted side recorded and concluded."""

    seed: int
    returns: list = field(default_factory=list)  # every training episode's true return
    eval: float | None = None  # the evaluation it is scored by; None: it produced nothing to evaluate
    problem: str = ""  # why it has no evaluation (or earns nothing), in words for the student
    checkpoints: list = field(default_factory=list)  # evaluations during training (Checkpoint)
    full_credit_at: int | None = None  # the training episode at which it was stopped at full credit
    skipped: str = ""  # "timeout": an earlier run timed out; "decided": the others decided the credit
    ablated: list = field(default_factory=list)  # the evaluations of the policy with its parameters shuffled
    agreement: float | None = None  # share of the last training episodes' states where eval and training agree
    untrained: str = ""  # why the evaluated policy is not what training trained ('' when it is)
    trusted: bool = False  # its evaluation was played on the trusted side


class RunBoard:
    """What the runs of one learning curve share, as they finish (two at a time, say): a run that timed out
    makes the later ones skip (they would time out too), and so do runs whose evaluations already give full
    credit whatever the others return (for an IQM over five runs, four at full credit)."""

    def __init__(self, cfg: LearningCurveSpec, total: int, *, skip_decided: bool = True):
        self.cfg, self.total, self.skip_decided = cfg, total, skip_decided
        self.timed_out = threading.Event()
        self._evals: list[float] = []
        self._lock = threading.Lock()

    # threading.Event's interface, for the run that times out
    def is_set(self) -> bool:
        return self.timed_out.is_set()

    def set(self):
        self.timed_out.set()

    def record(self, run: Run):
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
        return 0 < missing < self.total and tier_fraction(iqm(np.array(known + [0.0] * missing)), self.cfg) >= 1.0


def credited_eval(run: Run, full: float) -> float:
    """What a run counts for in the aggregate: its evaluation, 0 without one or when it is refused (a policy at
    full credit before any learning, or whose parameters training never changed: see learning_integrity)."""
    if run.eval is None or _refused(run, full):
        return 0.0
    return float(run.eval)


def tier_fraction(center: float, cfg: LearningCurveSpec) -> float:
    tiers = sorted(((t.min_iqm, t.credit) for t in cfg.tiers), reverse=True)
    return next((credit for bound, credit in tiers if center >= bound), 0.0)


def training_run(host, seed: int, board: RunBoard, train) -> Run:
    """``train() -> evaluation value`` for one seed, with ``host`` serving the environment.

    ``board`` is told when a run times out: later runs are skipped rather than made to time out too; it also
    skips them once the finished runs decide the credit. A run stopped at an episode boundary (StopRun) is
    scored by that checkpoint."""
    run = Run(seed=seed)
    if board.is_set():
        run.skipped = "timeout"
        run.problem = "not run: an earlier run ran out of time (see above), so the grader skipped the rest"
        host.close()
        return run
    if board.decided():
        run.skipped = "decided"
        host.close()
        return run
    progress.track(host)  # its episodes are published while it trains
    try:
        result = train()
        if isinstance(result, Evaluation):
            run.eval, run.ablated, run.agreement, run.untrained, run.trusted = (
                result.value, result.ablated, result.agreement, result.untrained, result.trusted)
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
            judged = stop.checkpoint.judged
            run.ablated, run.agreement, run.untrained, run.trusted = (
                judged.ablated, judged.agreement, judged.untrained, judged.trusted)
        if stop.checkpoint.episode > 0:
            run.full_credit_at = stop.checkpoint.episode
    except (RunProblem, StudentCodeError) as exc:
        run.problem = str(exc)
    except SessionEnded as exc:
        run.problem = str(exc)
        if exc.verdict == "timeout":
            board.set()
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


@dataclass(frozen=True)
class Evaluation:
    """What a run's final evaluation found: its value, and what tells whether learning earned it."""

    value: float
    ablated: list = field(default_factory=list)  # the policy's evaluations with its parameters shuffled
    agreement: float | None = None  # see evaluation.agreement
    untrained: str = ""  # why the evaluated policy is not what training trained
    trusted: bool = False  # played on the trusted side


# A policy's play must come from its trained parameters: it is evaluated again with them shuffled (each tensor's
# values permuted in place, everything else about the object kept), ABLATIONS times, whenever its evaluation can
# give credit. When every shuffled copy still plays ABLATED_LEVEL of what the trained policy played (capped at full
# credit), the run earns nothing. Honest policies' shuffled copies: bench/ablation.py measures how often they do.
ABLATIONS = 2
ABLATED_LEVEL = 0.8
# Training and evaluation tell one story: at the states the last training episodes visited, the evaluated policy
# chooses the action training took about this often or more (a policy unrelated to them agrees about half the time
# on CartPole's two actions). Honest DQN runs agree 0.69 to 0.90 with the template's epsilon of 0.1, REINFORCE and
# actor-critic about 0.68 (their training samples its actions): CALIBRATION.md. Below it, the run is flagged for the
# instructor, not refused: an off-policy learner whose behaviour was wrong (DQN acting by argmin) still learned
# its Q-values, and the refusals above (parameters changed only by training's optimiser steps, the network that
# existed before training, no steps after training's last episode, the ablation) are what decide.
AGREEMENT_MIN = 0.6
AGREEMENT_EPISODES = 3  # the last training episodes compared


def judge(agent, cfg: LearningCurveSpec, seed: int, value: float | None, transitions: list, *,
          final: bool = False) -> Evaluation | None:
    """The ablations and the agreement of an evaluation that can give credit (None for one that cannot); ``final``
    for the evaluation after training."""
    if value is None or value < credit_floor(cfg):
        return None
    untrained = agent.untrained(final=final)
    if untrained:
        return Evaluation(value, untrained=f"{untrained}: the points are for what training learned, so this run "
                                           "gets none")
    ablated = []
    if not agent.trusted:
        for draw in range(1, ABLATIONS + 1):
            with agent.ablated(draw) as act:
                ablated.append(evaluation.play(cfg, seed, act))
            if ablated[-1] < ABLATED_LEVEL * min(value, cfg.full_credit):
                break  # its play depends on its parameters: no need for another draw
    return Evaluation(value, ablated, evaluation.agreement(agent.act, transitions), trusted=agent.trusted)


def credit_floor(cfg: LearningCurveSpec) -> float:
    """The lowest evaluation that can give any credit."""
    if cfg.tiers:
        return min(t.min_iqm for t in cfg.tiers)
    return float(cfg.threshold if cfg.threshold is not None else -np.inf)


def final_evaluation(agent, cfg: LearningCurveSpec, seed: int, host) -> Evaluation:
    """The evaluation a run is scored by, with what tells whether learning earned it."""
    try:
        agent.load(before_any_step_ok=False)
    except evaluation.NotEvaluable as exc:
        raise RunProblem(str(exc)) from None
    value = agent.play(cfg, seed)
    judged = judge(agent, cfg, seed, value, host.transitions, final=True)
    return judged or Evaluation(value)


def greedy_evaluation(session, cfg: LearningCurveSpec, seed: int, *, policy, chooser=evaluation.argmax) -> float:
    """The mean return of the network ``policy`` of the sandbox on the held-out episodes, each action chosen here
    from its outputs by ``chooser``."""
    return evaluation.play(cfg, seed, evaluation.SandboxPolicy(session, policy, chooser).act)


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
    judged: "Evaluation | None" = None  # at a checkpoint that stops the run: what tells whether learning earned it


FRESH_INITS = 2
# A run stops at full credit only when its last eval_every training episodes (the student's own behaviour
# policy, exploration included) averaged this fraction of full credit: learning that lasts, not a
# transient good policy of a broken update that then collapses (measured in CALIBRATION.md).
STOP_TRAINING_LEVEL = 1.0
# ... and only when this many evaluations in a row found it at full credit: a wandering policy of a broken
# update can be at full credit once (measured in CALIBRATION.md).
STOP_AFTER = 2


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
    it, only when: the policy was evaluated before any learning and was below full credit then (a lucky
    initialisation, or a policy that could not be asked, is not stopped on), the evaluation before it was at
    full credit too (STOP_AFTER), its last ``eval_every`` training episodes averaged full credit
    (STOP_TRAINING_LEVEL) and training steps changed its parameters: training itself shows the learning. A
    policy that only wanders (a broken update leaves the network a random one) would otherwise be stopped on
    its luckiest evaluation; it trains to the end instead, as without checkpoints. The checkpoint that stops a
    run is judged as a final evaluation is (ablations, agreement)."""
    every = cfg.eval_every
    full = cfg.full_credit

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
            if not every_init and _stops(host, checkpoint, cfg):
                judged = judge(agent, cfg, seed, value, host.transitions)
        finally:
            agent.session.pause(time.monotonic() - started)
        if judged is not None:
            checkpoint = dataclasses.replace(checkpoint, judged=judged)
        host.checkpoints.append(checkpoint)
        if every_init or judged is not None:
            raise StopRun(checkpoint)

    return on_reset


def _stops(host, checkpoint: Checkpoint, cfg: LearningCurveSpec) -> bool:
    """Whether ``checkpoint`` ends the run at full credit (see checkpoints_on_reset)."""
    every, full = cfg.eval_every, cfg.full_credit
    checkpoints = [*host.checkpoints, checkpoint]
    at_start, held = checkpoints[0], checkpoints[-STOP_AFTER:]
    recent = host.returns[-every:] if every else []
    return bool(every and len(held) == STOP_AFTER
                and all(c.value is not None and c.value >= full and c.episode > 0 for c in held)
                and at_start.episode == 0 and at_start.value is not None and at_start.value < full
                and recent and np.mean(recent) >= STOP_TRAINING_LEVEL * full and _trained(at_start, checkpoint))


def _trained(before, after) -> bool:
    """Training steps changed the policy's parameters between two checkpoints (it has some, and both could
    be read)."""
    return (before.params or 0) > 0 and before.fingerprint is not None and after.fingerprint is not None \
        and after.fingerprint != before.fingerprint


def _never_trained(run: Run):
    """The first checkpoint when every checkpoint of the run read the same parameters as it, or none at all:
    whatever the policy scores, training steps did not make it. None when that cannot be told."""
    read = [c for c in run.checkpoints if c.params is not None]
    if len(read) < 2 or read[0].episode != 0:
        return None
    if read[0].params == 0 or all(c.fingerprint == read[0].fingerprint for c in read[1:]):
        return read[0]
    return None


def _problems_by_message(runs: list[Run]) -> list[str]:
    """One line per distinct problem, naming the runs it stopped: "runs 1, 2, 5: <message>". Problems are
    the same when their first lines are (the values a message prints after it differ from run to run);
    the first run's message is shown."""
    by_kind: dict[str, tuple[str, list[int]]] = {}
    for i, run in enumerate(runs):
        if run.problem:
            kind = by_kind.setdefault(run.problem.splitlines()[0], (run.problem[:300], []))
            kind[1].append(i + 1)
    lines = []
    for message, numbers in by_kind.values():
        if len(numbers) == len(runs) > 1:
            label = "every run"
        else:
            label = ("run " if len(numbers) == 1 else "runs ") + ", ".join(map(str, numbers))
        lines.append(f"{label}: {message}")
    return lines


def _refused_before_learning(run: Run):
    """The checkpoint before any learning at which the policy, and fresh ones of its kind, were at full credit."""
    return next((c for c in run.checkpoints if c.episode == 0 and c.steps == 0 and c.every_init), None)


def _refused(run: Run, full: float) -> str:
    """Why a run's evaluation earns nothing although it may be at full credit, or ''."""
    before = _refused_before_learning(run)
    if before is not None:
        return (f"before any training step the policy already scored {before.value:.0f} on the evaluation episodes "
                f"(full credit from {full:g}), and so did copies of it with their parameters initialised afresh "
                "(or it has none to learn): the points are for a policy that learns, so this run gets none")
    if run.eval is None:
        return ""
    if run.untrained:
        return run.untrained
    if run.eval >= full and _never_trained(run) is not None:
        return (f"the policy scored {run.eval:.0f}, but no training step changed its parameters (read at every "
                "evaluation during training): the points are for a policy that learns, so this run gets none")
    if len(run.ablated) == ABLATIONS and all(v >= ABLATED_LEVEL * min(run.eval, full) for v in run.ablated):
        return (f"the policy scored {run.eval:.0f}, and with the values of its trained parameters shuffled it still "
                f"scored {', '.join(f'{v:.0f}' for v in run.ablated)}: its play does not come from what it learned "
                "(something other than its parameters chooses its actions), so this run gets none")
    return ""


def learning_integrity(runs: list[Run], full: float) -> list[str]:
    """Learning-curve points come from learning. Returns the flags for the instructor, one per run, and takes
    the credit (its evaluation counts 0, with a problem that says why: ``_refused``) of a run whose policy
    already reached ``full`` before any training step, as did fresh initialisations of it; whose parameters no
    training step changed; that is not what training's optimiser steps made of the network that existed before
    training (evaluation.untrained_words); or that plays as well with its trained parameters shuffled
    (ABLATED_LEVEL).

    Flagged but scored (for the instructor only; students never see flags): a policy at full credit when
    evaluated although its last training episodes (the trusted side recorded them all) stayed under half
    of it, or although it never trained an episode: a policy that is not the one that trained, or that acts
    differently when evaluated (a controller put in place after a loop that did not learn); one whose choices
    disagree with the actions of the last training episodes (AGREEMENT_MIN); and one at full credit before any
    learning that could not be re-initialised to tell luck from a hand-written one."""
    flags = []
    for i, run in enumerate(runs, start=1):
        checkpoints = run.checkpoints
        refused = _refused(run, full)
        if refused:
            flags.append(f"run {i}: {refused.split(':')[0]}; no credit given")
            run.eval = None
            run.problem = refused
            continue
        if run.eval is None or run.eval < full:
            continue
        if not run.returns:
            flags.append(f"run {i}: the policy scored {run.eval:.0f} without a single training episode")
            continue
        recent = run.returns[-max(10, len(run.returns) // 10):]
        if np.mean(recent) < full / 2:
            flags.append(f"run {i}: the policy scored {run.eval:.0f} when evaluated, but its last {len(recent)} "
                         f"training episodes averaged {np.mean(recent):.0f}: is the evaluated policy the one that "
                         "trained?")
        if run.agreement is not None and run.agreement < AGREEMENT_MIN:
            flags.append(f"run {i}: the evaluated policy chose the action training took at {run.agreement:.0%} of the "
                         f"states of the last {AGREEMENT_EPISODES} training episodes: is it the one that trained?")
        if checkpoints and checkpoints[0].every_init is None:
            flags.append(f"run {i}: at full credit ({checkpoints[0].value:.0f}) before any learning, and it could not "
                         "be re-initialised to tell luck from a hand-written policy")
    return flags


def integrity_figures(runs: list[Run]) -> dict:
    """For the instructor and the calibration (never the student): per run, the evaluations of the policy with
    its parameters shuffled and its agreement with the last training episodes (None where not measured)."""
    return {"ablated": [[round(v, 1) for v in r.ablated] for r in runs],
            "agreement": [None if r.agreement is None else round(r.agreement, 3) for r in runs]}


def tiered_outcome(runs: list[Run], cfg: LearningCurveSpec, *, metric: str, hint: str = "") -> Outcome:
    """Credit by tiers of the interquartile mean of the runs' evaluations (a run without one counts 0),
    with a bootstrap 95% CI; the report carries each run's training curve and the episode at which a run
    reached full credit (where it was stopped). Runs skipped because the others decided full credit count
    as 0 in the tier (which they did not change). A run whose policy was already at full credit before any
    learning gets none (``learning_integrity``)."""
    full = cfg.full_credit
    flags = learning_integrity(runs, full)
    scored = [r for r in runs if r.skipped != "decided"]
    skipped = len(runs) - len(scored)
    evals = np.array([r.eval if r.eval is not None else 0.0 for r in scored] or [0.0])
    center = iqm(evals)
    low, high = bootstrap_ci(evals, rng=np.random.default_rng(0))
    fraction = tier_fraction(iqm(np.concatenate([evals, np.zeros(skipped)])), cfg)
    over = f"over {len(runs)} runs" if not skipped else f"over the {len(scored)} runs scored"
    lines = [f"Greedy return on held-out episodes, interquartile mean {over}: {center:.0f} "
             f"(95% CI [{low:.0f}, {high:.0f}]); per run: {', '.join(f'{v:.0f}' for v in evals)}. "
             f"Full credit from {full:g}."]
    reached = [(i, r.full_credit_at) for i, r in enumerate(runs, start=1) if r.full_credit_at]
    if reached:
        lines.append(f"{'Runs' if len(reached) > 1 else 'Run'} {', '.join(str(i) for i, _ in reached)} reached full "
                     f"credit at episode{'s' if len(reached) > 1 else ''} {', '.join(str(e) for _, e in reached)} "
                     "and stopped there.")
    if skipped:
        lines.append(f"{skipped} of {len(runs)} runs were not needed: those scored give full credit whatever "
                     "the others would return.")
    problems = _problems_by_message(runs)
    if problems:
        lines.append("Problems: " + "; ".join(problems[:3]))
    elif fraction < 1.0 and hint:
        lines.append(hint)
    outcome = Outcome(fraction, "\n".join(lines), {
        "metric": metric, "value": round(center, 2), "threshold": full,
        "ci95": [round(low, 2), round(high, 2)], "eval_returns": evals.tolist(),
        "full_credit_at": [r.full_credit_at for r in runs], "runs_skipped": skipped,
        "integrity": integrity_figures(runs), **({"flags": flags} if flags else {})})
    outcome.curves = [{"label": f"run {i + 1}" + (f" (full credit at episode {r.full_credit_at})"
                                                  if r.full_credit_at else ""),
                       "episode_returns": r.returns} for i, r in enumerate(runs) if r.skipped != "decided"]
    return outcome


def k_of_n_outcome(runs: list[Run], cfg: LearningCurveSpec, *, metric: str, hint: str = "",
                   missing: float = 0.0) -> Outcome:
    """Credit by how many runs reach ``cfg.threshold`` (full credit from ``cfg.runs_required``), with the IQM
    and its bootstrap 95% CI for information; a run without an evaluation counts as ``missing``."""
    evals = np.array([r.eval if r.eval is not None else missing for r in runs])
    threshold, required = float(cfg.threshold or 0.0), int(cfg.runs_required or len(runs))
    k = runs_passing(evals, threshold)
    center = iqm(evals)
    low, high = bootstrap_ci(evals, rng=np.random.default_rng(0))
    lines = [f"{k} of {len(runs)} runs learned a greedy policy with a return of at least {threshold:g} "
             f"(full credit from {required})."]
    finished = [r.eval for r in runs if r.eval is not None]
    if finished:
        lines[0] += (f" Greedy returns: {', '.join(f'{v:g}' for v in finished)}; IQM over all runs {center:.1f}, "
                     f"95% CI [{low:.1f}, {high:.1f}]")
        if len(finished) < len(runs):
            lines[0] += f" (a run that did not finish counts as {missing:g})"
        lines[0] += "."
    problems = [f"run {i + 1}: {r.problem}" for i, r in enumerate(runs) if r.problem]
    if problems:
        lines.append("Problems: " + "; ".join(p[:300] for p in problems[:3]))
    elif k < required and hint:
        lines.append(hint)
    outcome = Outcome(k_of_n_fraction(k, required), "\n".join(lines), {
        "metric": metric, "value": round(center, 3), "threshold": threshold, "ci95": [round(low, 3), round(high, 3)],
        "runs_passing": k, "runs": len(runs), "eval_returns": evals.tolist(), "integrity": integrity_figures(runs)})
    outcome.curves = [{"label": f"run {i + 1}", "episode_returns": r.returns} for i, r in enumerate(runs)]
    return outcome
