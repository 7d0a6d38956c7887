"""Checks of the DQN workshop. Everything here runs on the trusted side.

Each gap is found in the student's file (grader/gaps.py), then that one statement runs in the
sandbox on inputs chosen here; its outputs come back as data and are compared with values
computed here. The learning curve trains the student's whole script on the proxied environment.
"""
import threading

import numpy as np

from grader import gaps
from grader.envhost import EnvHost
from grader.errors import StudentCodeError
from grader.report import failed, passed
from grader.runs import RunProblem, greedy_evaluation, tiered_outcome, training_run
from grader.session import TensorValue, tensor_arg

GAP_IDS = ("td_target", "td_loss", "explore_action", "greedy_action", "env_step")


# In the template, these gaps run inside `with torch.no_grad():`; so do their checks.
NO_GRAD = {"td_target", "explore_action", "greedy_action"}


def _named(mistake):
    """The details naming a known mistake by its stable id (listed in README.md); none for a generic failure."""
    return {"mistake": mistake} if mistake else {}


class _Line:
    """The student's line for one gap, ready to run in the sandbox on chosen inputs."""

    def __init__(self, ctx, gap):
        self.ctx, self.gap = ctx, gap
        self.imports = gaps.imports(ctx.job.source)

    def run(self, inputs, outputs, repeat=1):
        return self.ctx.session(load=False).exec(self.gap.code, inputs=inputs, outputs=outputs, imports=self.imports,
                                       line=self.gap.line, no_grad=self.gap.id in NO_GRAD, repeat=repeat)


def gap_check(function):
    """Finds the student's line for the gap named like ``function`` and hands it over; failures name the line."""
    gap_id = function.__name__

    def check(ctx):
        found = gaps.find(ctx.job.source, GAP_IDS)[gap_id]
        if found is None:
            return failed(f"The line for {gap_id} was not found: keep it in its place, one line ending in "
                          f"`# FILL IN: {gap_id}`.", mistake="gap_line_missing")
        if found.code.strip() in ("...", "pass") or found.code.rstrip().endswith("= ..."):
            return failed(f"Line {found.line} ({gap_id}) is still `...`: write your code there.",
                          mistake="gap_not_filled")
        outcome = function(ctx, _Line(ctx, found))
        if outcome.fraction < 1:
            outcome.feedback = f"Line {found.line}: `{found.code.strip()[:120]}`\n{outcome.feedback}"
        return outcome

    check.__name__ = gap_id
    return check


def _array(value):
    if isinstance(value, TensorValue):
        return value.array
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(value, dtype=float)
    return None


def _action(value):
    """An action as an int, if ``value`` is one (int, numpy int, or a one-element tensor/array)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    array = _array(value)
    if array is not None and array.size == 1 and float(array.ravel()[0]).is_integer():
        return int(array.ravel()[0])
    return None


# -- td_target ---------------------------------------------------------------------------------
@gap_check
def td_target(ctx, code):
    n = 32
    r = ctx.rng.normal(size=(n, 1)).round(3)
    m = np.ones((n, 1))
    m[ctx.rng.choice(n, 8, replace=False)] = 0.0  # terminal transitions
    max_next_q = (ctx.rng.normal(size=(n, 1)) * 10).round(3)
    gamma = 0.9
    out = code.run({"r": tensor_arg(r), "m": tensor_arg(m), "gamma": gamma, "max_next_q": tensor_arg(max_next_q)},
                   ["y"])[0]
    y = _array(out["y"])
    want = r + m * gamma * max_next_q
    if y is None or y.size != n:
        return failed(f"y must be a tensor with one target per transition ({n} here); got {str(out['y'])[:80]}.")
    y = y.reshape(n, 1)
    if np.allclose(y, want, atol=1e-4):
        return passed("y = r + m * gamma * max_next_q: right on ordinary and terminal transitions.")
    hints = [
        ("mask_inverted", "the mask is inverted: m is 1 while the game goes on and 0 when it ended",
         r + (1 - m) * gamma * max_next_q),
        ("mask_missing", "the mask is missing: when the game ended (m = 0) the target must be just r",
         r + gamma * max_next_q),
        ("gamma_missing", "gamma is missing: the future reward must be discounted", r + m * max_next_q),
        ("reward_missing", "the reward r is missing from the target", m * gamma * max_next_q),
    ]
    mistake, why = next(((k, h) for k, h, v in hints if np.allclose(y, v, atol=1e-4)), ("", ""))
    terminal = int(np.flatnonzero(m.ravel() == 0)[0])
    return failed(f"y is wrong{': ' + why if why else ''}. For a terminal transition (r={r[terminal, 0]:g}, m=0, "
                  f"max_next_q={max_next_q[terminal, 0]:g}) y should be {want[terminal, 0]:g}, yours is "
                  f"{y[terminal, 0]:g}; expected y = r + m * gamma * max_next_q.", **_named(mistake))


# -- td_loss -----------------------------------------------------------------------------------
@gap_check
def td_loss(ctx, code):
    n = 32
    q_estimates = ctx.rng.normal(size=(n, 1)).round(3)
    y = (q_estimates + ctx.rng.normal(size=(n, 1))).round(3)
    out = code.run({"q_estimates": tensor_arg(q_estimates, grad=True), "y": tensor_arg(y)}, ["loss"])[0]
    loss, want = out["loss"], float(np.mean((q_estimates - y) ** 2))
    value = _array(loss)
    if value is None or value.size != 1:
        return failed(f"loss must be a single number (a scalar tensor); got {str(loss)[:80]}.")
    if not np.isclose(float(value.ravel()[0]), want, rtol=1e-4):
        hint, mistake = "", ""
        if np.isclose(float(value.ravel()[0]), float(np.sum((q_estimates - y) ** 2)), rtol=1e-4):
            hint, mistake = " It looks like the sum of squares: take the mean.", "loss_sum_not_mean"
        elif np.isclose(float(value.ravel()[0]), float(np.mean(np.abs(q_estimates - y))), rtol=1e-4):
            hint, mistake = " It looks like the mean absolute error: square the differences.", "loss_not_squared"
        return failed(f"loss should be the mean squared error between q_estimates and y ({want:.4f} here); "
                      f"yours is {float(value.ravel()[0]):.4f}.{hint}", **_named(mistake))
    if not isinstance(loss, TensorValue) or not loss.requires_grad:
        return failed("loss has the right value but is not a tensor connected to q_estimates, so loss.backward() "
                      "cannot train the network: keep it a tensor (no .item(), no float()).", mistake="loss_detached")
    return passed("loss is the mean squared error between q_estimates and y, and can be backpropagated.")


# -- explore_action ----------------------------------------------------------------------------
@gap_check
def explore_action(ctx, code):
    n = 400
    s = ctx.rng.normal(size=4).astype(np.float32)
    inputs = {"env": {"$fake_env": {"n_actions": 2, "seed": 5, "step": [[0, 0, 0, 0], 1.0, False, False, {}]}},
              "s": s, "q": {"$mlp": _known_network(ctx)}, "epsilon": 0.1}
    actions = [_action(r["a"]) for r in code.run(inputs, ["a"], repeat=n)]
    if any(a not in (0, 1) for a in actions):
        bad = next(a for a in actions if a not in (0, 1))
        return failed(f"a must be a valid CartPole action, 0 or 1; your line gave {bad!r}.")
    share = sum(actions) / n
    if not 0.35 <= share <= 0.65:
        # When every draw gave the same action, the line does not draw at all (a constant, or the greedy choice).
        return failed(f"A random action should be 0 or 1 about equally often; over {n} runs of your line, "
                      f"action 1 came {share:.0%} of the time. Use env.action_space.sample() or random.randint(0, 1).",
                      **_named("explore_not_random" if share in (0, 1) else ""))
    return passed(f"Valid random actions, spread evenly (action 1 in {share:.0%} of {n} draws).")


# -- greedy_action -----------------------------------------------------------------------------
def _known_network(ctx):
    rng = np.random.default_rng(int(ctx.spec.get("check_seed", 0)) + 1)
    shapes = [(16, 4), (2, 16)]
    return [[(rng.normal(size=shape) * 0.8).round(4).tolist(), (rng.normal(size=shape[0]) * 0.3).round(4).tolist()]
            for shape in shapes]


def _forward(layers, x):
    for i, (w, b) in enumerate(layers):
        x = np.asarray(w) @ x + np.asarray(b)
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    return x


@gap_check
def greedy_action(ctx, code):
    layers = _known_network(ctx)
    states = ctx.rng.normal(size=(40, 4)).astype(np.float32)
    values = np.array([_forward(layers, s.astype(float)) for s in states])
    keep = np.abs(values[:, 0] - values[:, 1]) > 1e-3  # no near-ties
    states, want, worst = states[keep][:12], values[keep].argmax(axis=1)[:12], values[keep].argmin(axis=1)[:12]
    wrong, picks = None, []
    for s, expected in zip(states, want):
        try:
            out = code.run({"q": {"$mlp": layers}, "s": s, "epsilon": 0.1,
                            "env": {"$fake_env": {"n_actions": 2, "seed": 1,
                                                  "step": [[0, 0, 0, 0], 1.0, False, False, {}]}}}, ["a"])[0]
        except StudentCodeError:
            if wrong is None:
                raise
            break
        picks.append(_action(out["a"]))
        if picks[-1] != expected and wrong is None:
            wrong = (s, expected, out["a"])
    if wrong is None:
        return passed(f"The action of the highest Q-value on {len(states)} states.")
    # The first wrong state makes the feedback; the other states only tell argmin from any other mistake.
    s, expected, given = wrong
    return failed(f"For the state {np.round(s, 2).tolist()} the network's values are "
                  f"{np.round(_forward(layers, s.astype(float)), 3).tolist()}, so the greedy action is "
                  f"{expected}; your line gave {str(given)[:60]}. Pass the state to q and take the "
                  "position of the larger value (argmax).",
                  **_named("greedy_argmin" if picks == worst.tolist() else ""))


# -- env_step ----------------------------------------------------------------------------------
@gap_check
def env_step(ctx, code):
    obs = [0.1, -0.2, 0.03, 0.4]
    inputs = {"env": {"$fake_env": {"n_actions": 2, "seed": 3, "step": [obs, 1.0, True, False, {"k": 1}]}},
              "a": 1, "s": np.zeros(4, dtype=np.float32)}
    try:
        out = code.run(inputs, ["s2", "r", "terminated", "truncated"])[0]
    except StudentCodeError as exc:  # the classic mistake raises inside the student's line
        if "unpack" in str(exc):
            return failed("gymnasium's env.step returns five values, not four: "
                          "s2, r, terminated, truncated, _ = env.step(a). (The workshop's slides use the old gym API.) "
                          f"Your line raised {exc}", mistake="four_value_step")
        raise
    problems = []
    if _array(out["s2"]) is None or not np.allclose(_array(out["s2"]).ravel(), obs):
        problems.append("s2 must be the next state (the first value)")
    if out["r"] != 1.0:
        problems.append("r must be the reward (the second value)")
    if out["terminated"] is not True or out["truncated"] is not False:
        problems.append("terminated and truncated must be the third and fourth values")
    if out.get("env.actions") != [1]:
        problems.append(f"step must be called once with the chosen action a (it got {out.get('env.actions')})")
    if problems:
        return failed("Your env.step line: " + "; ".join(problems) + ". Expected: s2, r, terminated, truncated, _ = "
                      "env.step(a).")
    return passed("env.step(a) with its five values bound to s2, r, terminated, truncated and the info.")


# -- learning_curve ----------------------------------------------------------------------------
def _one_run(ctx, cfg, seed, gave_up):
    host = EnvHost.for_episodes(cfg["env"], seed, episodes=cfg["max_episodes"],
                                max_episode_steps=cfg["max_episode_steps"])

    def train():
        with ctx.running_session(env_host=host, load_timeout=cfg["run_timeout_s"],
                                 session_timeout=cfg["run_timeout_s"] + 60) as session:
            if session.load_error is not None:
                raise RunProblem(str(session.load_error))
            return greedy_evaluation(session, cfg, cfg["eval_seed_base"] + seed, policy="q")

    return training_run(host, seed, gave_up, train)


def learning_curve(ctx):
    cfg = ctx.spec["learning_curve"]
    gave_up = threading.Event()
    runs = ctx.map_runs(lambda seed: _one_run(ctx, cfg, seed, gave_up), cfg["seeds"])
    return tiered_outcome(runs, cfg, metric="mean greedy return over held-out evaluation episodes (IQM over runs)")
