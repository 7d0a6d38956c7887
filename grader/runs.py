"""Training runs of learning-curve checks: one sandbox and one trusted environment per run.

Each way a run can fail (the student's code raised, timed out, returned something unusable,
was refused by the environment) becomes the run's ``problem``, in words for the student.
"""
import numpy as np

from grader import progress
from grader.envhost import EnvHost
from grader.errors import BellmanError, SessionEnded, StudentCodeError
from grader.report import Outcome
from grader.scoring import bootstrap_ci, iqm


class RunProblem(BellmanError):
    """The run finished, but what it produced cannot be evaluated."""


def training_run(host, seed, gave_up, train) -> dict:
    """``train() -> evaluation value`` for one seed, with ``host`` serving the environment.

    ``gave_up`` (a threading.Event) is set when a run times out: later runs are skipped rather
    than made to time out too. Returns ``{"seed", "returns", "eval", "problem"}``.
    """
    run = {"seed": seed, "returns": [], "eval": None, "problem": ""}
    if gave_up.is_set():
        run["problem"] = "not run: an earlier run ran out of time (see above), so the grader skipped the rest"
        host.close()
        return run
    progress.track(host)  # its episodes are published while it trains
    try:
        run["eval"] = train()
    except (RunProblem, StudentCodeError) as exc:
        run["problem"] = str(exc)
    except SessionEnded as exc:
        run["problem"] = str(exc)
        if exc.verdict == "timeout":
            gave_up.set()
            run["problem"] += " " + _where_it_stopped(host)
    finally:
        run["returns"] = host.returns
        if host.refusals and run["eval"] is None:
            run["problem"] = run["problem"] or f"the environment refused: {host.refusals[0]}"
        host.close()
    return run


def _where_it_stopped(host) -> str:
    """Where a training run was when its time ran out, by the episodes the trusted side recorded."""
    done = len(host.episodes)
    if not done:
        return "It ran out before the first training episode ended."
    return (f"It ran out after {done} training episode{'s' if done > 1 else ''} had ended (the last after "
            f"{host.episodes[-1].length} steps).")


# Inference mode for the evaluation: a network with dropout (PyTorch's REINFORCE example has p=0.6) would
# otherwise act on a random sub-network at every step.
EVAL_MODE = """
network = globals().get(name)
if isinstance(network, torch.nn.Module):
    network.eval()
"""


def greedy_evaluation(session, cfg, seed, *, policy) -> float:
    """Mean return of ``cfg["eval_episodes"]`` episodes on held-out seeds, stepped here; the sandbox only
    answers with the argmax of ``policy`` (a network kept in the sandbox, put in eval() mode first) for each
    observation."""
    session.exec(EVAL_MODE, inputs={"name": policy}, outputs=[], imports="import torch", with_module=True)
    host = EnvHost.for_episodes(cfg["env"], seed, episodes=cfg["eval_episodes"],
                                max_episode_steps=cfg["max_episode_steps"])
    try:
        returns = []
        for episode in range(cfg["eval_episodes"]):
            obs, _ = host.env.reset(seed=seed * 1000 + episode)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = host.env.step(_in_space(host.env.action_space,
                                                                                 session.act(obs.tolist(), policy=policy)))
                total += reward
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns))
    finally:
        host.close()


def _in_space(space, action: int) -> int:
    """``action`` if the environment takes it; otherwise the student's fault, in words (never the environment's
    own assertion on this side)."""
    if space.contains(action):
        return action
    n = getattr(space, "n", None)
    raise StudentCodeError(
        f"the policy chose action {str(action)[:30]}, but the environment's actions are 0 to {n - 1}: the network "
        f"must have one output per action ({n}, env.action_space.n), not more", kind="value")


def _problems_by_message(runs) -> list[str]:
    """One line per distinct problem, naming the runs it stopped: "runs 1, 2, 5: <message>". Problems are
    the same when their first lines are (the values a message prints after it differ from run to run);
    the first run's message is shown."""
    by_kind = {}
    for i, run in enumerate(runs):
        if run["problem"]:
            kind = by_kind.setdefault(run["problem"].splitlines()[0], (run["problem"][:300], []))
            kind[1].append(i + 1)
    lines = []
    for message, numbers in by_kind.values():
        if len(numbers) == len(runs) > 1:
            label = "every run"
        else:
            label = ("run " if len(numbers) == 1 else "runs ") + ", ".join(map(str, numbers))
        lines.append(f"{label}: {message}")
    return lines


def tiered_outcome(runs, cfg, *, metric, hint="") -> Outcome:
    """Credit by tiers of the interquartile mean of the runs' evaluations (a run without one counts 0),
    with a bootstrap 95% CI; the report carries each run's training curve."""
    evals = np.array([r["eval"] if r["eval"] is not None else 0.0 for r in runs])
    center = iqm(evals)
    low, high = bootstrap_ci(evals, rng=np.random.default_rng(0))
    tiers = sorted(((t["min_iqm"], t["credit"]) for t in cfg["tiers"]), reverse=True)
    fraction = next((credit for bound, credit in tiers if center >= bound), 0.0)
    lines = [f"Greedy return on held-out episodes, interquartile mean over {len(runs)} runs: {center:.0f} "
             f"(95% CI [{low:.0f}, {high:.0f}]); per run: {', '.join(f'{v:.0f}' for v in evals)}. "
             f"Full credit from {tiers[0][0]:g}."]
    problems = _problems_by_message(runs)
    if problems:
        lines.append("Problems: " + "; ".join(problems[:3]))
    elif fraction < 1.0 and hint:
        lines.append(hint)
    outcome = Outcome(fraction, "\n".join(lines), {
        "metric": metric, "value": round(center, 2), "threshold": tiers[0][0],
        "ci95": [round(low, 2), round(high, 2)], "eval_returns": evals.tolist()})
    outcome.curves = [{"label": f"run {i + 1}", "episode_returns": r["returns"]} for i, r in enumerate(runs)]
    return outcome
