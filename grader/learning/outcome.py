"""A learning curve's runs scored by the spec's rule (tiers of the IQM of their evaluations, or k runs of n at a
threshold), with the feedback that says how, the report's curves, and the instructor's integrity figures."""
import numpy as np

from grader.learning.integrity import integrity_figures, learning_integrity
from grader.learning.training import Skip, TrainFunction, TrainingRun, TrainScript, training_runs
from grader.report import Outcome
from grader.scoring import bootstrap_ci, iqm, k_of_n_fraction, runs_passing, tier_fraction
from grader.spec import LearningCurveSpec


def _problems_by_message(runs: list[TrainingRun]) -> list[str]:
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


def tiered_outcome(runs: list[TrainingRun], cfg: LearningCurveSpec, *, metric: str, hint: str = "") -> Outcome:
    """Credit by tiers of the interquartile mean of the runs' evaluations (a run without one counts 0),
    with a bootstrap 95% CI; the report carries each run's training curve and the episode at which a run
    reached full credit (where it was stopped). Runs skipped because the others decided full credit count
    as 0 in the tier (which they did not change). A run whose policy was already at full credit before any
    learning gets none (``learning_integrity``)."""
    full = cfg.full_credit
    flags = learning_integrity(runs, full)
    scored = [r for r in runs if r.skipped is not Skip.DECIDED]
    skipped = len(runs) - len(scored)
    evals = np.array([r.eval if r.eval is not None else 0.0 for r in scored] or [0.0])
    center = iqm(evals)
    low, high = bootstrap_ci(evals, rng=np.random.default_rng(0))
    fraction = tier_fraction(iqm(np.concatenate([evals, np.zeros(skipped)])), cfg.tiers)
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
                       "episode_returns": r.returns} for i, r in enumerate(runs) if r.skipped is not Skip.DECIDED]
    return outcome


def k_of_n_outcome(runs: list[TrainingRun], cfg: LearningCurveSpec, *, metric: str, hint: str = "",
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


def learning_curve(ctx, training: TrainFunction | TrainScript, *, metric: str, hint: str = "",
                   missing: float = 0.0) -> Outcome:
    """The learning-curve check: the runs of ``training``, scored by the spec's rule (tiers of the IQM of
    the runs' evaluations, or ``runs_required`` runs at ``threshold``). ``hint`` is added when the credit is
    not full and no run had a problem; ``missing`` is what a run without an evaluation counts for in a
    k-of-n rule (0 in tiers)."""
    cfg = ctx.spec.learning_curve
    runs = training_runs(ctx, training)
    if cfg.tiers:
        return tiered_outcome(runs, cfg, metric=metric, hint=hint)
    return k_of_n_outcome(runs, cfg, metric=metric, hint=hint, missing=missing)
