"""Checks of the actor-critic assignment. Everything here runs on the trusted side.

Each check drives the student's functions inside the sandbox on inputs chosen here and gets plain values
back (probabilities, values, actions, targets, gradients); the verdict is computed here, against the
definitions, and a known mistake is named by its id (README.md, "Mistake ids").
"""
import numpy as np

from grader.kit import (
    ARGMAX_OF_FIRST,
    SAMPLED_PROBS,
    SAMPLES,
    StudentCodeError,
    TrainFunction,
    affine_fit,
    as_array,
    failed,
    first_mistake,
    instance_of,
    learning_curve as score_learning_curve,
    passed,
    probe,
    raised,
    sampling_verdict,
    show,
)

# Each function's inputs as its docstring in the template states them; the checks send exactly these, and a
# function that raises on them is told what it was given.
DOCUMENTED = {
    "select_action": "select_action(model, state) gets a model (here an instance of your ActorCritic whose forward "
                     "gives known probabilities and a known value) and one state as the environment gives it, a "
                     "numpy float32 array of shape (4,); it returns the action as an int, its log-probability and "
                     "the state's value, both as tensors.",
    "td_targets": "td_targets(rewards, next_values, terminated, gamma) gets three 1-D float32 tensors of shape (T,) "
                  "(next_values carries a gradient; terminated holds 1.0 where the episode ended there) and gamma "
                  "as a float; it returns a 1-D tensor of shape (T,).",
    "actor_critic_loss": "actor_critic_loss(log_probs, values, targets) gets three 1-D float32 tensors of shape "
                         "(T,) (log_probs and values carry gradients, targets does not) and returns a scalar tensor.",
    "train": "train(env, episodes, seed=0) gets an environment with 4-dimensional observations and 2 actions.",
}


def _differ(a, b):
    return a is None or b is None or a.shape != b.shape or not np.allclose(a, b, atol=1e-6)


# -- model -------------------------------------------------------------------------------------------------
# In eval() mode, as inference runs (dropout is no mistake), then once in the module's own training mode for
# the gradients. Every failure is caught with the stage it happened in, so that the feedback quotes the input.

MODEL_INPUTS = {
    "build": "The grader builds your model as `ActorCritic()`, with no arguments, as train() does: give every "
             "argument of `__init__` a default.",
    "one state": "forward gets one state as a float32 tensor of shape (4,) and must return (probs, value) with "
                 "shapes (2,) and () (the evaluation asks for one state at a time).",
    "batch": "forward gets a batch of states as a float32 tensor of shape (batch, 4) and must return (probs, "
             "values) with shapes (batch, 2) and (batch,).",
    "training mode": "forward must also run in training mode (the mode train() uses) on one state, a float32 "
                     "tensor of shape (4,).",
}


def model(ctx):
    states = ctx.rng.normal(scale=[1.0, 1.0, 0.1, 1.0], size=(6, 4))
    out = probe(ctx, "model", seed=5, state=states[0].tolist(), states=states.tolist())
    error = out["error"]
    if error:
        if error["type"] == "NotImplementedError":
            raise StudentCodeError(f"NotImplementedError: {error['message']}", exc_type="NotImplementedError",
                                   traceback=error["traceback"])
        return failed(f"{MODEL_INPUTS[error['stage']]} Yours raised {error['type']}: {error['message']}\n\n"
                      f"{error['traceback'].strip()}")
    if not out["pair"]:
        return failed("forward must return two tensors, (probs, values): the actor's action probabilities and the "
                      "critic's state values, e.g. `return torch.softmax(logits, dim=-1), value.squeeze(-1)`.")
    probs, batch = as_array(out["single_probs"]), as_array(out["batch_probs"])
    value, values = as_array(out["single_values"]), as_array(out["batch_values"])
    if probs is None or batch is None or value is None or values is None:
        return failed("forward must return tensors: (probs, values).")
    if _differ(probs, as_array(out["again_probs"])):
        return failed(f"Your model gives different probabilities for the same state, even in eval() mode: "
                      f"{show(probs)}, then {show(as_array(out['again_probs']))}. Is there sampling in forward? "
                      "forward returns the probabilities themselves; the sampling belongs in select_action.",
                      mistake="forward_not_deterministic")
    if probs.shape != (2,) or batch.shape != (6, 2):
        return failed(f"The probabilities must have shape (2,) for one state and (batch, 2) for a batch; yours had "
                      f"{probs.shape} for one state and {batch.shape} for a batch of 6.")
    if values.shape == (6, 1):
        return failed("The values of a batch of 6 states have shape (6, 1); they must have shape (6,), one number "
                      "per state (`.squeeze(-1)`). With (batch, 1), `targets - values` broadcasts to a (batch, "
                      "batch) matrix: every state's value is pulled toward every other state's target.",
                      mistake="values_not_squeezed")
    if values.shape != (6,) or value.size != 1:
        return failed(f"The values must have shape () for one state and (batch,) for a batch; yours had "
                      f"{value.shape} for one state and {values.shape} for a batch of 6.")
    if not (np.allclose(batch.sum(axis=1), 1.0, atol=1e-4) and (batch >= 0).all()):
        if np.allclose(batch.sum(axis=0), 1.0, atol=1e-4) and (batch >= 0).all():
            return failed("For a batch, each column of the probabilities sums to 1 instead of each row: the softmax "
                          "is taken over the batch dimension. Take it over the actions, the last dimension "
                          "(dim=-1).", mistake="softmax_wrong_dim")
        return failed("The actor must return probabilities, non-negative and summing to 1 over the actions; for a "
                      f"batch yours returned rows like {show(batch[:2])}, which look like raw scores (logits). Apply "
                      "a softmax over the last dimension.", mistake="no_softmax")
    if not np.allclose(probs, batch[0], atol=1e-5) or not np.isclose(value.ravel()[0], values[0], atol=1e-5):
        return failed(f"One state gave {show(probs)} and {float(value.ravel()[0]):.4f}, but the same state in a "
                      f"batch gave {show(batch[0])} and {values[0]:.4f}: forward must treat a batch row by row.")
    if not out["probs_grad"]:
        return failed("The probabilities carry no gradient: compute them with torch operations from the network's "
                      "output, without .detach(), .numpy() or torch.tensor(...), or the actor cannot learn.",
                      mistake="probs_detached")
    if not out["values_grad"]:
        return failed("The values carry no gradient: compute them with torch operations from the network's "
                      "output, or the critic cannot learn.", mistake="values_detached")
    return passed("ActorCritic returns a probability distribution over the actions and one value per state, for one "
                  "state and for a batch, both with their gradients.")


# -- select_action -------------------------------------------------------------------------------------------
# The model given to select_action has known probabilities and a known value: an instance of the student's own
# class where it can be built with no arguments, with forward replaced, so that a helper of theirs still works,
# and with its two networks `actor` and `critic` (the names the template keeps) replaced too, for a select_action
# that calls them directly: the actor gives the known logits, the critic the known value, for any state.


def select_action(ctx):
    probs, value, n = list(SAMPLED_PROBS), 3.5, SAMPLES
    state = ctx.rng.normal(size=4).tolist()
    try:
        out = probe(ctx, "sampler", probs=probs, value=value, n=n, seed=17, state=state)
    except StudentCodeError as exc:
        return raised(DOCUMENTED["select_action"], exc)
    if out["arity"] != 3:
        return failed(f"select_action must return three things, (action, log_prob, value); yours returned "
                      f"{out['arity']}.")
    actions, log_probs = out["actions"], out["log_probs"]
    verdict = sampling_verdict(actions, who="the actor", source="its distribution")
    if verdict is not None:
        return verdict
    if any(lp is None for lp in log_probs):
        return failed("select_action must return the log-probability as a tensor holding one number.")
    logs = np.log(probs)
    got = np.array(log_probs)
    want = np.array([logs[a] for a in actions])
    if not np.allclose(got, want, atol=1e-4):
        mistake = first_mistake(got, [
            (np.exp(want), "prob_not_log", "they are the probabilities themselves: take their logarithm "
                                           "(distribution.log_prob(action))."),
            (np.array([logs[1 - a] for a in actions]), "log_prob_other_action",
             "they are those of the other action: log_prob must be taken of the action that was returned."),
        ])
        why = mistake.why if mistake else f"for action 0 expected {logs[0]:.4f}, for action 1 {logs[1]:.4f}."
        return failed(f"The log-probabilities do not match the chosen actions: {why}", mistake=mistake)
    if not all(out["lp_grad"]):
        return failed("The log-probability carries no gradient (.item(), .detach() or torch.tensor(...) cut it off): "
                      "the actor's loss needs it.", mistake="log_prob_detached")
    if any(v is None for v in out["values"]) or not np.allclose(out["values"], value, atol=1e-5):
        return failed(f"select_action must return the model's value of the state it was given, as a tensor holding "
                      f"one number (here {value}); yours returned {str(out['values'][0])[:40]}.")
    if not all(out["v_grad"]):
        return failed("The value carries no gradient (.item(), .detach() or torch.tensor(...) cut it off): the "
                      "critic's loss needs it to learn.", mistake="value_detached")
    return passed("select_action samples from the actor and returns the log-probability of the action it chose and "
                  "the critic's value of the state, both with their gradients.")


# -- td_targets ----------------------------------------------------------------------------------------------

# train() on an environment that ends its first episode by truncation (a time limit) and its second by
# termination, with td_targets recorded: the flags it is given must be 1 only where the episode terminated.
EPISODE_ENDS = [(5, "truncated"), (4, "terminated")]


def _train_flags(ctx):
    """(mistake or None, feedback) for the terminated flags train() gives td_targets; (None, "") when it cannot
    be told (train() raised, does not call td_targets, or batches the transitions some other way)."""
    try:
        out = probe(ctx, "train_flags", ends=EPISODE_ENDS)
    except StudentCodeError:
        return None, ""  # the learning curve says what train() does
    want = [0.0] * (EPISODE_ENDS[0][0] + EPISODE_ENDS[1][0])
    want[-1] = 1.0
    truncation_end = EPISODE_ENDS[0][0] - 1
    flags = out["flags"]
    if not out["called"] or len(flags) != len(want) or flags == want:
        return None, ""
    if flags[truncation_end] == 1.0 and flags[-1] == 1.0:
        return "truncation_as_termination", (
            "td_targets is right, but train() gives it terminated = 1 where an episode was truncated (the time "
            "limit ended it, not a terminal state): the state after a truncation still has a future, and its value "
            "must be bootstrapped. Pass `terminated`, not `terminated or truncated` (the episode loop still ends on "
            "either).")
    if flags[-1] == 0.0:
        return "bootstraps_terminal", (
            "td_targets is right, but train() never gives it terminated = 1, even where the episode terminated: "
            "the target then bootstraps from a terminal state, which has no future.")
    return None, ""


def td_targets(ctx):
    for T, gamma in ((6, 0.9), (9, 0.99)):
        rewards = np.round(ctx.rng.normal(1.0, 1.0, size=T), 3)
        next_values = np.round(ctx.rng.normal(5.0, 3.0, size=T), 3)
        terminated = np.zeros(T)
        terminated[ctx.rng.choice(T, 2, replace=False)] = 1.0
        try:
            out = probe(ctx, "targets", rewards=rewards.tolist(), next_values=next_values.tolist(),
                        terminated=terminated.tolist(), gamma=gamma)
        except StudentCodeError as exc:
            return raised(DOCUMENTED["td_targets"], exc, call=f"td_targets(..., gamma={gamma})")
        got = as_array(out["targets"])
        if not out["is_tensor"] or got is None:
            return failed(f"td_targets must return a tensor; it returned {type(out['targets']).__name__}.")
        if got.shape != (T,):
            return failed(f"td_targets must return one target per transition, shape ({T},); it returned shape "
                          f"{got.shape}.")
        want = rewards + gamma * next_values * (1 - terminated)
        if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            mistake = first_mistake(got, [
                (rewards + gamma * next_values, "bootstraps_terminal",
                 "the target bootstraps from V(s') where the episode terminated: a terminal state has no future, "
                 "so there the target is just r (multiply gamma * V(s') by 1 - terminated)."),
                (rewards + gamma * next_values * terminated, "terminal_mask_inverted",
                 "the mask is inverted: V(s') counts only where the episode terminated; it must count everywhere "
                 "else (1 - terminated)."),
                (rewards + next_values * (1 - terminated), "gamma_missing",
                 "the next state's value is not discounted by gamma."),
                (rewards, "no_bootstrap", "the next state's value is missing: r + gamma * V(s') where the episode "
                                          "goes on."),
            ])
            return failed(f"For rewards {show(rewards)}, next values {show(next_values)}, terminated "
                          f"{show(terminated)} and gamma={gamma}, expected {show(want)}, got {show(got)}."
                          + (f" It looks like {mistake.why}" if mistake else ""), mistake=mistake)
        if out["with_grad"]:
            return failed("The targets carry a gradient through next_values: the TD target is a fixed goal for the "
                          "critic, not something to move. Detach V(s') (next_values.detach(), or compute it under "
                          "torch.no_grad()), or the critic's loss also drags V(s') toward V(s).",
                          mistake="target_not_detached")
    mistake, why = _train_flags(ctx)
    if mistake:
        return failed(why, mistake=mistake)
    return passed("td_targets gives r + gamma * V(s') where the episode goes on and r where it terminated, "
                  "without a gradient through V(s'); train() gives it the terminated flags, not the truncations.")


# -- actor_critic_loss ---------------------------------------------------------------------------------------


def _critic_terms(error, log_probs, grad):
    """(k, c, relative residual) of grad ~ k * (V - G) + c * log_probs: k > 0 is a critic pulling V toward G;
    c != 0 is an actor's term whose advantage carries a gradient into V."""
    A = np.stack([error, log_probs], axis=1)
    coef, *_ = np.linalg.lstsq(A, grad, rcond=None)
    return coef[0], coef[1], np.linalg.norm(A @ coef - grad) / max(float(np.linalg.norm(grad)), 1e-12)


def actor_critic_loss(ctx):
    """Every correct loss has gradient -a * (G_t - V_t) + b (a > 0; sum or mean, normalised advantages) with
    respect to log pi(a_t|s_t), and k * (V_t - G_t) (k > 0: squared error, 0.5 of it, mean or sum) with respect
    to V(s_t). The errors |G - V| are kept under 1, where a Huber loss is the squared error too."""
    for T in (12, 7):
        log_probs = -ctx.rng.uniform(0.05, 2.5, size=T)
        values = np.round(ctx.rng.normal(10.0, 3.0, size=T), 3)
        targets = np.round(values + ctx.rng.uniform(-0.9, 0.9, size=T), 3)
        try:
            out = probe(ctx, "gradient", log_probs=log_probs.tolist(), values=values.tolist(),
                        targets=targets.tolist())
        except StudentCodeError as exc:
            return raised(DOCUMENTED["actor_critic_loss"], exc)
        if not out["is_tensor"]:
            return failed("actor_critic_loss must return a tensor (built from log_probs and values) that the "
                          "optimiser can differentiate.")
        if out["size"] != 1:
            return failed(f"actor_critic_loss must return a scalar (sum or average over the steps); yours has "
                          f"{out['size']} elements.")
        grad_lp, grad_v = as_array(out["grad_lp"]), as_array(out["grad_v"])
        advantage = targets - values
        if grad_lp is None or np.allclose(grad_lp, 0.0):
            return failed("The loss does not depend on the log-probabilities: the actor's term, -log pi(a|s) * "
                          "advantage, is missing or detached.", mistake="actor_missing")
        slope, residual = affine_fit(advantage, grad_lp)
        if residual > 1e-3:
            if affine_fit(targets, grad_lp)[1] < 1e-3:
                return failed("The actor's term weights each log pi(a_t|s_t) by the TD target G_t; it must weight "
                              "it by the advantage G_t - V(s_t), which says how much better the action did than "
                              "the critic expected.", mistake="actor_uses_target")
            return failed("The actor's term must weight each log pi(a_t|s_t) by its own step's advantage G_t - "
                          "V(s_t): the loss's gradient with respect to log pi(a_t|s_t) must be proportional to "
                          "-(G_t - V(s_t)). Yours is not.")
        if slope > 0:
            return failed("The actor's sign is backwards: minimising your loss makes the actions with a positive "
                          "advantage less likely. The actor climbs log pi(a|s) * advantage, so its term in the loss "
                          "is -log pi(a|s) * advantage.", mistake="actor_sign_reversed")
        if grad_v is None or np.allclose(grad_v, 0.0):
            return failed("The loss does not depend on the values: the critic's squared error (G_t - V(s_t))^2 is "
                          "left out, so the critic never learns and the advantages stay meaningless.",
                          mistake="critic_missing")
        k, c, residual = _critic_terms(-advantage, log_probs, grad_v)
        if residual > 1e-3:
            return failed("The loss's gradient with respect to V(s_t) must be proportional to V(s_t) - G_t (the "
                          "critic's squared error). Yours is not.")
        if abs(c) > 1e-4 * max(1.0, abs(k)):
            return failed("The advantage in the actor's term carries a gradient into the critic: minimising "
                          "-log pi * (G - V) then also moves V to make the actor's term smaller, not to predict the "
                          "return. Hold the advantage constant there (advantage.detach()); the critic learns from "
                          "its own squared error.", mistake="advantage_not_detached")
        if k <= 0:
            return failed("The critic's term is reversed: minimising your loss pushes V(s_t) away from its target. "
                          "Minimise (G_t - V(s_t))^2.", mistake="critic_sign_reversed")
    return passed("Minimising the loss raises the log-probability of each action in proportion to its advantage "
                  "(held constant) and pulls each V(s_t) toward its target.")


# -- learning_curve ------------------------------------------------------------------------------------------
# The actor's most likely action: forward returns (probs, values), so the argmax of the first, chosen here from
# the numbers the network returns.
CHOOSE_ACTOR = ARGMAX_OF_FIRST
TRAINING = TrainFunction(policy=instance_of("ActorCritic"), chooser=CHOOSE_ACTOR)


def learning_curve(ctx):
    return score_learning_curve(
        ctx, TRAINING, metric="mean greedy return over held-out evaluation episodes (IQM over runs)",
        hint="A correct actor-critic keeps the pole up for well over 100 steps after "
             f"{ctx.spec.learning_curve.episodes} episodes; check the checks above first.")
