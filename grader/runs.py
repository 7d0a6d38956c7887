"""Training runs of learning-curve checks: one sandbox and one trusted environment per run.

Each way a run can fail (the student's code raised, timed out, returned something unusable,
was refused by the environment) becomes the run's ``problem``, in words for the student.
"""
from dataclasses import dataclass

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
    run = {"seed": seed, "returns": [], "eval": None, "problem": "", "checkpoints": []}
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
        run["checkpoints"] = list(host.checkpoints)
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


def greedy_evaluation(session, cfg, seed, *, policy, inference=False) -> float:
    """Mean return of ``cfg["eval_episodes"]`` episodes on held-out seeds, stepped here; the sandbox only
    answers with the argmax of ``policy`` (a network kept in the sandbox, in eval() mode) for each observation.

    ``inference`` puts the network in eval() mode for each pass only: for an evaluation in the middle of
    training (at an episode boundary), which must leave the training as it was."""
    if not inference:
        session.exec(EVAL_MODE, inputs={"name": policy}, outputs=[], imports="import torch", with_module=True)
    host = EnvHost.for_episodes(cfg["env"], seed, episodes=cfg["eval_episodes"],
                                max_episode_steps=cfg["max_episode_steps"])
    try:
        returns = []
        for episode in range(cfg["eval_episodes"]):
            obs, _ = host.env.reset(seed=seed * 1000 + episode)
            total, done = 0.0, False
            while not done:
                action = session.act(obs.tolist(), policy=policy, inference=inference)
                obs, reward, terminated, truncated, _ = host.env.step(_in_space(host.env.action_space, action))
                total += reward
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns))
    finally:
        host.close()


@dataclass(frozen=True)
class Checkpoint:
    """The greedy policy evaluated at an episode boundary while it trained (training paused)."""

    episode: int  # training episodes finished before it
    steps: int  # environment steps taken before it
    value: float | None  # mean return on the held-out episodes; None when there was no policy to ask yet
    # Before any learning and at full credit: so were FRESH_INITS other initialisations of the same network,
    # which rules out a lucky initialisation (one in twenty untrained CartPole networks balances a while).
    every_init: bool = False


FRESH_INITS = 2
UNTRAINED = """
import sys
import torch
state = torch.random.get_rng_state()
try:
    torch.manual_seed(draw)
    vars(sys.modules["submission"])["_untrained_policy"] = make()
finally:
    torch.random.set_rng_state(state)  # the training that follows draws what it would have drawn
"""


def full_credit(cfg) -> float:
    return max(float(t["min_iqm"]) for t in cfg["tiers"])


def _untrained_value(session, cfg, seed, make: str, draw: int) -> float:
    """The greedy return of a policy fresh from ``make()`` (no argument), under the seed ``draw``."""
    session.exec(UNTRAINED, inputs={"draw": draw}, outputs=[], with_module=True, imports=f"make = {make}")
    return greedy_evaluation(session, cfg, seed, policy="_untrained_policy", inference=True)


def _every_init_at_full(session, cfg, seed, make: str) -> bool:
    try:
        return all(_untrained_value(session, cfg, seed, make, draw) >= full_credit(cfg)
                   for draw in range(1, FRESH_INITS + 1))
    except StudentCodeError:
        return False


def untrained_checkpoint(session, host, cfg, seed, *, make: str):
    """A checkpoint before any learning, for a policy that only exists inside ``train()``: a fresh ``make()``
    (the student's class, called with no argument) evaluated greedily. Nothing when it cannot be made or act."""
    try:
        value = _untrained_value(session, cfg, seed, make, 0)
    except StudentCodeError:
        return
    every = value >= full_credit(cfg) and _every_init_at_full(session, cfg, seed, make)
    host.checkpoints.append(Checkpoint(0, 0, value, every))


def checkpoints_on_reset(session, cfg, seed, *, policy: str):
    """An ``EnvHost.on_reset`` that evaluates ``policy`` (a name in the student's module) before the first
    episode, before any learning, and then every ``cfg["eval_every"]`` episodes when the spec sets it."""
    every = int(cfg.get("eval_every", 0))

    def on_reset(host):
        done = len(host.episodes)
        if host.checkpoints and not (every and done % every == 0 and done > host.checkpoints[-1].episode):
            return
        try:
            value = greedy_evaluation(session, cfg, seed, policy=policy, inference=True)
        except StudentCodeError:
            value = None  # the policy does not exist yet, or cannot act yet: nothing to evaluate here
        first = not host.checkpoints and host.steps == 0
        every_init = (first and value is not None and value >= full_credit(cfg)
                      and _every_init_at_full(session, cfg, seed, f"type({policy})"))
        host.checkpoints.append(Checkpoint(done, host.steps, value, every_init))

    return on_reset


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


def learning_integrity(runs, full: float) -> list[str]:
    """Learning-curve points come from learning. Returns the flags for the instructor, one per run, and takes
    the credit of a run whose policy already reached ``full`` before any training step, as did fresh
    initialisations of it (its evaluation counts 0, with a problem that says why).

    Flagged but scored: a policy at full credit after training although neither the last training episodes
    (the trusted side recorded them all) nor any evaluation during training came within half of it: a
    policy that changed without the training steps to show for it (a controller or a planner put in place
    after a training loop that did not learn)."""
    flags = []
    for i, run in enumerate(runs, start=1):
        checkpoints = run.get("checkpoints") or []
        before = next((c for c in checkpoints if c.episode == 0 and c.steps == 0 and c.every_init), None)
        if before is not None:
            run["eval"] = None
            run["problem"] = (f"before any training step the policy already scored {before.value:.0f} on the "
                              f"evaluation episodes (full credit from {full:g}), and so did {FRESH_INITS} other "
                              "initialisations of it: the points are for a policy that learns, so this run gets "
                              "none")
            flags.append(f"run {i}: at full credit ({before.value:.0f}) before any learning; no credit given")
            continue
        if run["eval"] is None or run["eval"] < full or not run["returns"]:
            continue
        recent = run["returns"][-max(10, len(run["returns"]) // 10):]
        during = [c.value for c in checkpoints if c.episode > 0 and c.value is not None]
        if np.mean(recent) < full / 2 and (not during or max(during) < full / 2):
            flag = (f"run {i}: the policy scored {run['eval']:.0f} after training, but the last {len(recent)} "
                    f"training episodes averaged {np.mean(recent):.0f}")
            if during:
                flag += f" and no evaluation during training scored more than {max(during):.0f}"
            flags.append(flag + ": is the evaluated policy the one that trained?")
    return flags


def tiered_outcome(runs, cfg, *, metric, hint="") -> Outcome:
    """Credit by tiers of the interquartile mean of the runs' evaluations (a run without one counts 0),
    with a bootstrap 95% CI; the report carries each run's training curve. A run whose policy was already at
    full credit before any learning gets none (``learning_integrity``)."""
    full = max(float(t["min_iqm"]) for t in cfg["tiers"])
    flags = learning_integrity(runs, full)
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
    if flags:
        lines.append("Flagged for your instructor: " + "; ".join(flags))
    outcome = Outcome(fraction, "\n".join(lines), {
        "metric": metric, "value": round(center, 2), "threshold": tiers[0][0],
        "ci95": [round(low, 2), round(high, 2)], "eval_returns": evals.tolist(),
        **({"flags": flags} if flags else {})})
    outcome.curves = [{"label": f"run {i + 1}", "episode_returns": r["returns"]} for i, r in enumerate(runs)]
    return outcome
