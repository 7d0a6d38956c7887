"""Checks of the REINFORCE assignment. Everything here runs on the trusted side.

Each check drives the student's functions inside the sandbox on inputs chosen here and gets plain
values back (probabilities, actions, log-probabilities, returns, gradients); the verdict is computed
here, against the definitions, with feedback that names the concept that is wrong.
"""

import numpy as np

from grader.kit import (
    SAMPLED_PROBS,
    SAMPLES,
    StudentCodeError,
    TrainFunction,
    affine_fit,
    as_array as _values,
    failed,
    first_mistake,
    instance_of,
    learning_curve as score_learning_curve,
    passed,
    probe,
    raised,
    sampling_verdict,
    show as _show,
)

# Each function's inputs as its docstring in the template states them; the checks send exactly these, and a
# function that raises on them is told what it was given.
DOCUMENTED = {
    "select_action": "select_action(policy, state) gets a policy (here an instance of your Policy whose forward "
                     "gives known probabilities) and one state as the environment gives it, a numpy float32 array "
                     "of shape (4,); it returns the action as an int and its log-probability as a tensor.",
    "discounted_returns": "discounted_returns(rewards, gamma) gets one episode's rewards as a list of floats and "
                          "gamma as a float; it returns a 1-D float tensor with one return per step.",
    "reinforce_loss": "reinforce_loss(log_probs, returns) gets two 1-D float32 tensors of shape (T,), one value per "
                      "step (log_probs carries a gradient), and returns a scalar tensor.",
}
HINTS = {
    # PyTorch's and the Hugging Face course's loss joins per-step losses of shape (1,) with torch.cat.
    "zero-dimensional tensor": "Iterating over a 1-D tensor gives 0-d tensors, which torch.cat cannot join: use "
                               "torch.stack, or multiply the two tensors directly.",
}


def _raised(function, exc, call="Yours"):
    """Feedback for a student function that raised on its documented input (NotImplementedError passes on)."""
    return raised(DOCUMENTED[function], exc, call=call, hints=HINTS)


# -- policy ------------------------------------------------------------------------------------
# The probe runs the student's module in eval() mode, as inference is run, and puts back the mode it found:
# a policy with dropout (PyTorch's REINFORCE example) gives different outputs for the same state in training
# mode, and that is no mistake. Outputs that differ in eval() mode too are named before anything else. The
# gradient is looked at in the module's own (training) mode, where train() uses it. Every failure is caught
# here with the stage it happened in, so that the feedback says which documented input raised.

# What the grader gives forward and the constructor, as the template's docstrings say; quoted when they raise.
POLICY_INPUTS = {
    "build": "The grader builds your policy as `Policy()`, with no arguments, as train() does: give every "
             "argument of `__init__` a default (n_obs=4, n_actions=2, ...).",
    "one state": "forward gets one state as a float32 tensor of shape (4,) and must return shape (2,) (the "
                 "evaluation asks for one state at a time); a softmax over dim=-1 works for one state and for a "
                 "batch alike, where dim=1 fails on one state.",
    "batch": "forward gets a batch of states as a float32 tensor of shape (batch, 4) and must return shape "
             "(batch, 2).",
    "training mode": "forward must also run in training mode (the mode train() uses) on one state, a float32 "
                     "tensor of shape (4,).",
}


def _probe_failure(error):
    """The feedback for a probe that raised, or re-raises a NotImplementedError as the student's own."""
    if error["type"] == "NotImplementedError":
        raise StudentCodeError(f"NotImplementedError: {error['message']}", exc_type="NotImplementedError",
                               traceback=error["traceback"])
    return failed(f"{POLICY_INPUTS[error['stage']]} Yours raised {error['type']}: {error['message']}\n\n"
                  f"{error['traceback'].strip()}")


def _differ(a, b):
    return a is None or b is None or a.shape != b.shape or not np.allclose(a, b, atol=1e-6)


def policy(ctx):
    states = ctx.rng.normal(scale=[1.0, 1.0, 0.1, 1.0], size=(6, 4))
    out = probe(ctx, "policy", seed=5, state=states[0].tolist(), states=states.tolist())
    if out["error"]:
        return _probe_failure(out["error"])
    single, batch = _values(out["single"]), _values(out["batch"])
    if single is None or batch is None:
        kind = type(out["single"] if single is None else out["batch"]).__name__
        return failed(f"Policy()(state) must return a tensor of probabilities; it returned {kind}.")
    if _differ(single, _values(out["again"])):
        return failed(f"Your network gives different outputs for the same state, even in eval() mode: "
                      f"{_show(single)}, then {_show(_values(out['again']))}. Is there sampling in forward? forward "
                      "must return the probabilities themselves; the sampling belongs in select_action.",
                      mistake="forward_not_deterministic")
    if single.shape != (2,) or batch.shape != (6, 2):
        return failed(f"Policy()(state) must have shape (2,) for one state and (batch, 2) for a batch; yours gave "
                      f"{single.shape} for one state and {batch.shape} for a batch of 6.")
    rows_ok = np.allclose(batch.sum(axis=1), 1.0, atol=1e-4) and (batch >= 0).all()
    if not rows_ok:
        if np.allclose(batch.sum(axis=0), 1.0, atol=1e-4) and (batch >= 0).all():
            return failed("For a batch, each column sums to 1 instead of each row: the softmax is taken over the "
                          "batch dimension. Take it over the actions, the last dimension (dim=-1).",
                          mistake="softmax_wrong_dim")
        return failed("forward must return probabilities, non-negative and summing to 1 over the actions; for a "
                      f"batch yours returned rows like {_show(batch[:2])}, which look like raw scores (logits). "
                      "Apply a softmax over the last dimension.", mistake="no_softmax")
    if not np.allclose(single, batch[0], atol=1e-5):
        return failed(f"One state gave {_show(single)}, but the same state in a batch gave {_show(batch[0])}: "
                      "forward must treat a batch row by row (a softmax over dim=-1).")
    if not getattr(out["trained"], "requires_grad", False):
        return failed("The probabilities carry no gradient: forward must compute them with torch operations from "
                      "the network's output, without .detach(), .numpy() or torch.tensor(...), or the policy "
                      "cannot learn.", mistake="probs_detached")
    mode = (" (Checked in eval() mode: in training mode your outputs vary from call to call, as dropout makes "
            "them.)" if _differ(_values(out["trained"]), _values(out["trained_again"])) else "")
    return passed("Policy returns a probability distribution over the actions, for one state and for a batch."
                  + mode)


# -- select_action -----------------------------------------------------------------------------
# The policy given to select_action has known probabilities. It is an instance of the student's own Policy
# class where that can be built with no arguments, with forward replaced: whatever else their select_action
# uses of their class (a method like the Hugging Face course's `act`, a list like PyTorch's `saved_log_probs`)
# is there, as in their train().


def select_action(ctx):
    probs, n = list(SAMPLED_PROBS), SAMPLES
    state = ctx.rng.normal(size=4).tolist()
    try:
        out = probe(ctx, "sampler", probs=probs, n=n, seed=17, state=state)
    except StudentCodeError as exc:
        return _raised("select_action", exc)
    actions, log_probs = out["actions"], out["log_probs"]
    verdict = sampling_verdict(actions, who="REINFORCE", source="the policy's distribution")
    if verdict is not None:
        return verdict
    if any(lp is None for lp in log_probs):
        return failed("select_action must return the log-probability as a tensor holding one number.")
    logs = np.log(probs)
    chosen = np.array([logs[a] for a in actions])
    got = np.array(log_probs)
    if not np.allclose(got, chosen, atol=1e-4):
        mistake = ""
        if np.allclose(got, np.exp(chosen), atol=1e-4):
            why, mistake = ("they are the probabilities themselves: take their logarithm "
                            "(distribution.log_prob(action)).", "prob_not_log")
        elif np.allclose(got, np.array([logs[1 - a] for a in actions]), atol=1e-4):
            why, mistake = ("they are those of the other action: log_prob must be taken of the action that was "
                            "returned.", "log_prob_other_action")
        elif np.allclose(got, np.array([np.log(np.exp(probs) / np.exp(probs).sum())[a] for a in actions]), atol=1e-4):
            why, mistake = ("the distribution was built as if the probabilities were logits: use "
                            "Categorical(probs=policy(state)), or give Categorical the network's raw scores as "
                            "logits.", "probs_as_logits")
        else:
            why = f"for action 0 expected {logs[0]:.4f}, for action 1 {logs[1]:.4f}."
        return failed(f"The log-probabilities do not match the chosen actions: {why}", mistake=mistake)
    if not all(out["with_grad"]):
        return failed("The log-probability carries no gradient (.item(), .detach() or torch.tensor(...) cut it off): "
                      "the loss needs it to move the policy.", mistake="log_prob_detached")
    return passed("select_action samples from the policy and returns the log-probability of the action it chose, "
                  "with its gradient.")


# -- discounted_returns ------------------------------------------------------------------------
def _rewards_to_go(rewards, gamma):
    out, G = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        G = rewards[t] + gamma * G
        out[t] = G
    return out


def _diagnose_returns(got, rewards, gamma):
    """The known mistake that produces ``got``, or None."""
    r, want, T = np.asarray(rewards), _rewards_to_go(rewards, gamma), len(rewards)
    forward = np.zeros(T)
    for t in range(T):
        forward[t] = r[t] + (gamma * forward[t - 1] if t else 0.0)
    candidates = [
        (_rewards_to_go(rewards, 1.0), "gamma_missing",
         "gamma is not applied: a reward k steps later counts gamma^k times."),
        (forward, "returns_forward",
         "the returns are accumulated forward in time: G_t sums the rewards from step t to the end of "
         "the episode (compute them backwards, G_t = r_t + gamma * G_{t+1}), not from the start to t."),
        (want[::-1], "returns_reversed",
         "the returns come out in reverse order: G[0] must be the return from the first step."),
        (np.full(T, want[0]), "whole_episode_return",
         "every step got the whole episode's return G_0: the return of step t counts only the rewards from t on."),
        (np.append(want[1:], 0.0), "current_reward_missing", "G_t must include the reward r_t of step t itself."),
        (np.array([sum(gamma ** k * r[k] for k in range(t, T)) for t in range(T)]), "discount_from_start",
         "the discount is counted from the start of the episode: in G_t the reward r_k counts gamma^(k - t)."),
    ]
    if T > 1 and want.std() > 0:
        normalised = "the returns are normalised: return G_t itself (normalise in the loss if you want to)."
        candidates.append(((want - want.mean()) / want.std(), "returns_normalised", normalised))
        candidates.append(((want - want.mean()) / want.std(ddof=1), "returns_normalised", normalised))
    return first_mistake(got, candidates)


def discounted_returns(ctx):
    session = ctx.session()
    cases = [(1, 0.9), (2, 0.5), (9, 0.99), (30, 0.8)]
    for T, gamma in cases:
        rewards = np.round(ctx.rng.normal(1.0, 2.0, size=T), 3).tolist()
        try:
            value = session.call("discounted_returns", rewards, gamma).value
        except StudentCodeError as exc:
            return _raised("discounted_returns", exc,
                           f"discounted_returns({rewards[:4]}{'...' if T > 4 else ''}, gamma={gamma})")
        got = _values(value)
        if got is None:
            return failed(f"discounted_returns must return a 1-D float tensor; it returned {type(value).__name__}.")
        if got.shape != (T,):
            return failed(f"discounted_returns must return one value per step, shape ({T},); it returned shape "
                          f"{got.shape} for {T} rewards.")
        want = _rewards_to_go(rewards, gamma)
        if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            mistake = _diagnose_returns(got, rewards, gamma)
            shown = f"{rewards}" if T <= 9 else f"{T} rewards"
            return failed(f"For rewards {shown} and gamma={gamma}, expected {_show(want[:6])}"
                          f"{'...' if T > 6 else ''}, got {_show(got[:6])}{'...' if T > 6 else ''}. "
                          f"{mistake.why if mistake else ''}".strip(), mistake=mistake)
    return passed("discounted_returns matches G_t = r_t + gamma * G_{t+1} on episodes of 1 to 30 steps.")


# -- reinforce_loss ----------------------------------------------------------------------------


def reinforce_loss(ctx):
    """The gradient of every correct loss with respect to log pi(a_t|s_t) is -c (G_t - b) / s with c, s > 0 and
    one b for the episode (sum or mean, a baseline, normalisation): an increasing affine function of G_t."""
    for T in (12, 7):
        log_probs = -ctx.rng.uniform(0.05, 2.5, size=T)
        returns = np.round(ctx.rng.uniform(0.0, 40.0, size=T), 2)
        try:
            out = probe(ctx, "gradient", log_probs=log_probs.tolist(), returns=returns.tolist())
        except StudentCodeError as exc:
            return _raised("reinforce_loss", exc)
        if not out["is_tensor"]:
            return failed("reinforce_loss must return a tensor (built from log_probs) that the optimiser can "
                          "differentiate.")
        if out["size"] != 1:
            return failed(f"reinforce_loss must return a scalar (sum or average over the steps); yours has "
                          f"{out['size']} elements.")
        grad = _values(out["grad"])
        if grad is None or np.allclose(grad, 0.0):
            return failed("The loss does not depend on the log-probabilities (was something detached, or turned "
                          "into a number?): its gradient with respect to them is zero.", mistake="loss_detached")
        ascent = -grad
        slope, residual = affine_fit(returns, ascent)
        if np.allclose(ascent, ascent[0], rtol=1e-4):
            return failed("The loss gives every log-probability the same weight: it ignores the returns. "
                          "Weight each log pi(a_t|s_t) by its return G_t.", mistake="returns_ignored")
        if residual > 1e-3:
            if affine_fit(returns[::-1], ascent)[1] < 1e-3:
                return failed("Each log-probability must be multiplied by the return of its own step; yours are "
                              "paired with the returns in reverse order.", mistake="returns_paired_reversed")
            return failed("The loss must weight each log pi(a_t|s_t) by its own step's return G_t (optionally "
                          "minus one baseline for the episode, or normalised): its gradient with respect to "
                          "log pi(a_t|s_t) must be proportional to -(G_t - b). Yours is not.")
        if slope < 0:
            return failed("The sign is backwards: minimising your loss makes the actions that led to high returns "
                          "less likely. REINFORCE climbs sum_t log pi(a_t|s_t) G_t, so the loss to minimise is its "
                          "negative, -sum_t log pi(a_t|s_t) G_t.", mistake="loss_sign_reversed")
    return passed("Minimising the loss raises the log-probability of each action in proportion to its return "
                  "(up to a baseline and a scale), as the policy gradient requires.")


# -- learning_curve ----------------------------------------------------------------------------
# train() returns the policy it trained; the Policy it holds is evaluated during training (the most likely
# action of its probabilities: the argmax) and the one it returns at the end.
TRAINING = TrainFunction(policy=instance_of("Policy"))


def learning_curve(ctx):
    return score_learning_curve(
        ctx, TRAINING, metric="mean greedy return over held-out evaluation episodes (IQM over runs)",
        hint="A correct REINFORCE keeps the pole up for well over 100 steps after "
             f"{ctx.spec.learning_curve.episodes} episodes; check the checks above, the sign of the loss first.")
