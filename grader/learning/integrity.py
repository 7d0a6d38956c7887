"""Whether learning earned a run's evaluation: the judgement of an evaluation that can give credit (ablations,
agreement, the policy being what training trained), the refusals that take a run's credit, and the flags that
only tell the instructor. The threat model is docs/security.md's ("Learning-curve points come from learning")."""
from dataclasses import dataclass, field

import numpy as np

from grader import evaluation
from grader.errors import RunProblem
from grader.spec import LearningCurveSpec

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
# its Q-values, and the refusals below (parameters changed only by training's optimiser steps, the network that
# existed before training, no steps after training's last episode, the ablation) are what decide.
AGREEMENT_MIN = 0.6
AGREEMENT_EPISODES = 3  # the last training episodes compared


@dataclass(frozen=True)
class Evaluation:
    """What a run's final evaluation found: its value, and what tells whether learning earned it."""

    value: float
    ablated: list = field(default_factory=list)  # the policy's evaluations with its parameters shuffled
    agreement: float | None = None  # see evaluation.agreement
    untrained: str = ""  # why the evaluated policy is not what training trained
    trusted: bool = False  # played on the trusted side


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
            with agent.ablated(draw):
                ablated.append(agent.play(cfg, seed))
            if ablated[-1] < ABLATED_LEVEL * min(value, cfg.full_credit):
                break  # its play depends on its parameters: no need for another draw
    return Evaluation(value, ablated, evaluation.agreement(agent.act_all, transitions), trusted=agent.trusted)


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


def credited_eval(run, full: float) -> float:
    """What a run (``grader.learning.training.TrainingRun``) counts for in the aggregate: its evaluation, 0
    without one or when it is refused (``refusal``)."""
    if run.eval is None or refusal(run, full):
        return 0.0
    return float(run.eval)


def _never_trained(run):
    """The first checkpoint when every checkpoint of the run read the same parameters as it, or none at all:
    whatever the policy scores, training steps did not make it. None when that cannot be told."""
    read = [c for c in run.checkpoints if c.params is not None]
    if len(read) < 2 or read[0].episode != 0:
        return None
    if read[0].params == 0 or all(c.fingerprint == read[0].fingerprint for c in read[1:]):
        return read[0]
    return None


def _refused_before_learning(run):
    """The checkpoint before any learning at which the policy, and fresh ones of its kind, were at full credit."""
    return next((c for c in run.checkpoints if c.episode == 0 and c.steps == 0 and c.every_init), None)


def refusal(run, full: float) -> str:
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


def learning_integrity(runs: list, full: float) -> list[str]:
    """Learning-curve points come from learning. Returns the flags for the instructor, one per run, and takes
    the credit (its evaluation counts 0, with a problem that says why: ``refusal``) of a run whose policy
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
        refused = refusal(run, full)
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


def integrity_figures(runs: list) -> dict:
    """For the instructor and the calibration (never the student): per run, the evaluations of the policy with
    its parameters shuffled and its agreement with the last training episodes (None where not measured)."""
    return {"ablated": [[round(v, 1) for v in r.ablated] for r in runs],
            "agreement": [None if r.agreement is None else round(r.agreement, 3) for r in runs]}
