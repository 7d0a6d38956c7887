"""Checks of the DQN workshop. Everything here runs on the trusted side.

Each gap is found in the student's file (by its marker, or the rules below), then that one statement
runs in the sandbox on inputs chosen here; its outputs come back as data and are compared with values
computed here. The learning curve trains the student's whole script on the proxied environment.
"""
import ast
import builtins

import numpy as np

from grader.kit import (
    MLP,
    StudentCodeError,
    TensorValue,
    TrainScript,
    failed,
    fake_env,
    find_gaps,
    learning_curve as score_learning_curve,
    mlp,
    module_imports,
    passed,
    tensor as tensor_arg,
)

GAP_IDS = ("td_target", "td_loss", "explore_action", "greedy_action", "env_step")


# In the template, these gaps run inside `with torch.no_grad():`; so do their checks.
NO_GRAD = {"td_target", "explore_action", "greedy_action"}


# -- finding the student's line for each gap: by its marker, or else by these rules over the syntax tree ----
def _assigns(node, name):
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


def _function(tree, name):
    return next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _mentions(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _calls_env_step(node):
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "step"
               and _mentions(n.func.value, "env") for n in ast.walk(node))


def _epsilon_branches(tree):
    """The `if <random> < epsilon:` of the training loop: (explore statement, greedy statement)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _mentions(node.test, "epsilon") and node.orelse:
            explore = next((s for s in node.body if _assigns(s, "a")), None)
            greedy = next((s for s in node.orelse if _assigns(s, "a")), None)
            if explore is not None or greedy is not None:
                return explore, greedy
    return None, None


def _structural(tree, gap_id):
    update = _function(tree, "update")
    if gap_id in ("td_target", "td_loss") and update is not None:
        name = "y" if gap_id == "td_target" else "loss"
        return next((n for n in ast.walk(update) if _assigns(n, name)), None)
    if gap_id in ("explore_action", "greedy_action"):
        explore, greedy = _epsilon_branches(tree)
        return explore if gap_id == "explore_action" else greedy
    if gap_id == "env_step":
        inside_functions = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and id(node) not in inside_functions and _calls_env_step(node.value) \
                    and isinstance(node.targets[0], ast.Tuple):
                return node
    return None


def _names(node, ctx_type=ast.Load):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx_type)}


def _context(source, code, given):
    """The top-level assignments of ``source`` that define what ``code`` uses but is not given (the file's
    `device = torch.device(...)`, `criterion = nn.MSELoss()`, `n_actions = env.action_space.n`), with what they
    need in turn, as one line of statements in file order; "" when none is needed. An assignment that needs
    something no such statement defines (a class of the file, say) is left out."""
    tree = ast.parse(source)
    defined = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) or isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.update({name: node for t in targets for name in _names(t, ast.Store)})
    known = set(given) | set(dir(builtins))
    chosen, wanted = [], list(_names(ast.parse(code)) - known)
    while wanted:
        node = defined.get(wanted.pop())
        if node is not None and node not in chosen:
            chosen.append(node)
            wanted.extend(_names(node.value) - known)
    while True:  # drop what cannot run: a statement whose names are neither given nor defined by another
        available = known | {name for node in chosen for t in getattr(node, "targets", [getattr(node, "target", None)])
                              for name in _names(t, ast.Store)}
        runnable = [node for node in chosen if _names(node.value) <= available]
        if len(runnable) == len(chosen):
            break
        chosen = runnable
    return "; ".join(ast.unparse(node) for node in sorted(chosen, key=lambda n: n.lineno))


class _Line:
    """The student's line for one gap, ready to run in the sandbox on chosen inputs.

    The inputs are the names the template gives the line at that point (README.md lists them); the file's
    imports run first, and then whatever top-level assignments of the file the line uses beyond its inputs
    (CleanRL's `device`, a `criterion` object), on the line before it so that a traceback keeps its line."""

    def __init__(self, ctx, gap):
        self.ctx, self.gap = ctx, gap
        self.imports = module_imports(ctx.job.source)

    def run(self, inputs, outputs, repeat=1):
        imported = {(a.asname or a.name).split(".")[0] for n in ast.parse(self.imports).body
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}  # (all are: module_imports)
        context = _context(self.ctx.job.source, self.gap.code, set(inputs) | imported)
        code, line = (f"{context}\n{self.gap.code}", self.gap.line - 1) if context else (self.gap.code, self.gap.line)
        return self.ctx.session(load=False).exec(code, inputs=inputs, outputs=outputs, imports=self.imports,
                                                 line=line, no_grad=self.gap.id in NO_GRAD, repeat=repeat)


# What each line gets when it is checked, as the template has it at that point (README.md); quoted to a line
# that raises on it.
GIVEN = {
    "td_target": "This line gets r, m and max_next_q as float32 tensors of shape (batch, 1), gamma as a float, and "
                 "q_target with s2 (float32, (batch, 4)); it must set y, shape (batch, 1).",
    "td_loss": "This line gets q_estimates (float32, shape (batch, 1), with its gradient) and y (float32, shape "
               "(batch, 1)), and q, s (float32, (batch, 4)) and a (int64, (batch, 1)); it must set loss, a scalar "
               "tensor.",
    "explore_action": "This line gets env (with its action_space), s, q and epsilon; it must set a to 0 or 1.",
    "greedy_action": "This line gets q (a network), s (the state, a numpy float32 array of shape (4,)), epsilon and "
                     "env; it must set a to the action with the larger value.",
    "env_step": "This line gets env, a (the action, a numpy integer) and s; it must bind s2, r, terminated, "
                "truncated and the info that env.step(a) returns.",
}


def gap_check(function):
    """Finds the student's line for the gap named like ``function`` and hands it over; failures name the line."""
    gap_id = function.__name__

    def check(ctx):
        found = find_gaps(ctx.job.source, GAP_IDS, _structural)[gap_id]
        if found is None:
            return failed(f"The line for {gap_id} was not found: keep it in its place, one line ending in "
                          f"`# FILL IN: {gap_id}`.", mistake="gap_line_missing")
        if found.code.strip() in ("...", "pass") or found.code.rstrip().endswith("= ..."):
            return failed(f"Line {found.line} ({gap_id}) is still `...`: write your code there.",
                          mistake="gap_not_filled")
        try:
            outcome = function(ctx, _Line(ctx, found))
        except StudentCodeError as exc:
            if exc.kind != "call":
                raise
            trace = f"\n\n{exc.traceback.strip()}" if exc.traceback.strip() else ""
            hint = (" A name your line uses is neither among these nor assigned at the top level of your file."
                    if exc.exc_type == "NameError" else "")
            outcome = failed(f"{GIVEN[gap_id]} Your line raised {exc}.{hint}{trace}")
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
# The line gets what the template has at that point in update(): r, m and max_next_q of shape (batch, 1),
# gamma, and also the target network q_target and the next states s2 that max_next_q came from, for a line
# that computes the maximum itself (`q_target(s2).max(1)[0].unsqueeze(1)`, `.amax(dim=1, keepdim=True)`).
@gap_check
def td_target(ctx, code):
    n = 32
    r = ctx.rng.normal(size=(n, 1)).round(3)
    m = np.ones((n, 1))
    m[ctx.rng.choice(n, 8, replace=False)] = 0.0  # terminal transitions
    layers = _known_network(ctx, scale=4.0)
    s2 = ctx.rng.normal(size=(n, 4)).astype(np.float32)
    max_next_q = np.array([_forward(layers, x.astype(float)).max() for x in s2]).reshape(n, 1).astype(np.float32)
    gamma = 0.9
    out = code.run({"r": tensor_arg(r), "m": tensor_arg(m), "gamma": gamma, "max_next_q": tensor_arg(max_next_q),
                    "s2": tensor_arg(s2), "q_target": mlp(layers)}, ["y"])[0]
    y = _array(out["y"])
    want = r + m * gamma * max_next_q
    if y is None or y.size != n:
        return failed(f"y must be a tensor with one target per transition ({n} here, shape ({n}, 1) like r); got "
                      f"{str(out['y'])[:80]}.")
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
                  f"max_next_q={max_next_q[terminal, 0]:.4g}) y should be {want[terminal, 0]:.4g}, yours is "
                  f"{y[terminal, 0]:.4g}; expected y = r + m * gamma * max_next_q.", mistake=mistake)


# -- td_loss -----------------------------------------------------------------------------------
# The line gets q_estimates (batch, 1), with its gradient, and y (batch, 1); also q, s and a, the network, states
# and actions that q_estimates came from, for a line that gathers them itself (`q(s).gather(1, a)`).
@gap_check
def td_loss(ctx, code):
    n = 32
    layers = _known_network(ctx)
    s = ctx.rng.normal(size=(n, 4)).astype(np.float32)
    a = ctx.rng.integers(0, 2, size=(n, 1))
    q_estimates = np.array([_forward(layers, x.astype(float))[i]
                            for x, i in zip(s, a.ravel(), strict=True)]).reshape(n, 1)
    y = (q_estimates + ctx.rng.normal(size=(n, 1))).round(3)
    out = code.run({"q_estimates": tensor_arg(q_estimates, grad=True), "y": tensor_arg(y), "q": mlp(layers),
                    "s": tensor_arg(s), "a": tensor_arg(a, dtype="int64")}, ["loss"])[0]
    loss, want = out["loss"], float(np.mean((q_estimates - y) ** 2))
    value = _array(loss)
    if value is None or value.size != 1:
        return failed(f"loss must be a single number (a scalar tensor); got {str(loss)[:80]}.")
    got = float(value.ravel()[0])
    if not np.isclose(got, want, rtol=1e-4):
        hint, mistake = "", ""
        diff = np.abs(q_estimates - y)
        if np.isclose(got, float(np.sum((q_estimates - y) ** 2)), rtol=1e-4):
            hint, mistake = " It looks like the sum of squares: take the mean.", "loss_sum_not_mean"
        elif np.isclose(got, float(np.mean(diff)), rtol=1e-4):
            hint, mistake = " It looks like the mean absolute error: square the differences.", "loss_not_squared"
        elif np.isclose(got, float(np.mean(np.where(diff < 1, 0.5 * diff ** 2, diff - 0.5))), rtol=1e-4):
            hint, mistake = (" It looks like the Huber loss (smooth_l1_loss, as in Stable-Baselines3 and PyTorch's "
                             "DQN tutorial): it trains a DQN too, but this line asks for the workshop's mean "
                             "squared error (torch.pow(q_estimates - y, 2).mean(), or F.mse_loss)."), "loss_huber"
        return failed(f"loss should be the mean squared error between q_estimates and y ({want:.4f} here); "
                      f"yours is {got:.4f}.{hint}", mistake=mistake)
    if not isinstance(loss, TensorValue) or not loss.requires_grad:
        return failed("loss has the right value but is not a tensor connected to q_estimates, so loss.backward() "
                      "cannot train the network: keep it a tensor (no .item(), no float()).", mistake="loss_detached")
    return passed("loss is the mean squared error between q_estimates and y, and can be backpropagated.")


# -- explore_action ----------------------------------------------------------------------------
@gap_check
def explore_action(ctx, code):
    n = 400
    s = ctx.rng.normal(size=4).astype(np.float32)
    inputs = {"env": fake_env(n_actions=2, seed=5, step=[[0, 0, 0, 0], 1.0, False, False, {}]),
              "s": s, "q": mlp(_known_network(ctx)), "epsilon": 0.1}
    actions = [_action(r["a"]) for r in code.run(inputs, ["a"], repeat=n)]
    if any(a not in (0, 1) for a in actions):
        bad = next(a for a in actions if a not in (0, 1))
        return failed(f"a must be a valid CartPole action, 0 or 1; your line gave {bad!r}.")
    share = sum(actions) / n
    if not 0.35 <= share <= 0.65:
        # When every draw gave the same action, the line does not draw at all (a constant, or the greedy choice).
        return failed(f"A random action should be 0 or 1 about equally often; over {n} runs of your line, "
                      f"action 1 came {share:.0%} of the time. Use env.action_space.sample() or random.randint(0, 1).",
                      mistake="explore_not_random" if share in (0, 1) else "")
    return passed(f"Valid random actions, spread evenly (action 1 in {share:.0%} of {n} draws).")


# -- greedy_action -----------------------------------------------------------------------------
def _known_network(ctx, scale=1.0):
    """Weights of a small network (4 -> 16 -> 2, ReLU) the trusted side can evaluate (``_forward``) and the
    sandbox can build (``mlp(layers)``); ``scale`` spreads its outputs."""
    rng = np.random.default_rng(ctx.spec.check_seed + 1)
    shapes = [(16, 4), (2, 16)]
    return [[(rng.normal(size=shape) * 0.8 * (scale if i else 1.0)).round(4).tolist(),
             (rng.normal(size=shape[0]) * 0.3 * (scale if i else 1.0)).round(4).tolist()]
            for i, shape in enumerate(shapes)]


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
    for s, expected in zip(states, want, strict=True):
        try:
            out = code.run({"q": mlp(layers), "s": s, "epsilon": 0.1,
                            "env": fake_env(n_actions=2, seed=1, step=[[0, 0, 0, 0], 1.0, False, False, {}])},
                           ["a"])[0]
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
                  mistake="greedy_argmin" if picks == worst.tolist() else "")


# -- env_step ----------------------------------------------------------------------------------
# `a` comes as a numpy integer (0-d), as env.action_space.sample() gives it: `env.step(a)`, `env.step(int(a))` and
# `env.step(a.item())` all take it, whichever of these the student's action lines need.
@gap_check
def env_step(ctx, code):
    obs = [0.1, -0.2, 0.03, 0.4]
    inputs = {"env": fake_env(n_actions=2, seed=3, step=[obs, 1.0, True, False, {"k": 1}]),
              "a": np.array(1, dtype=np.int64), "s": np.zeros(4, dtype=np.float32)}
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
# The workshop's script trains q on import. What is evaluated, during training and at the end, is the network
# its optimiser stepped: its parameters come out as arrays and are played here in the template's QNetwork
# (4 -> 64 -> 64 -> 2, ReLU between), the greedy action of its Q-values; no student code runs in an evaluation.
TRAINING = TrainScript(policy="q", architecture=MLP((4, 64, 64, 2)))


def learning_curve(ctx):
    return score_learning_curve(ctx, TRAINING,
                                metric="mean greedy return over held-out evaluation episodes (IQM over runs)")
