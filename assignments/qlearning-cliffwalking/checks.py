"""Checks of the Q-learning warm-up. Everything here runs on the trusted side.

Each check sends inputs into the sandbox, gets the student's outputs back as data, and
compares them with values computed here.
"""
import numpy as np

from grader.kit import (
    EnvHost,
    RunProblem,
    StudentCodeError,
    TrainFunction,
    failed,
    first_mistake,
    learning_curve as score_learning_curve,
    passed,
    replay_q_learning,
    rng,
)

# Each function's inputs as its docstring in the template states them; the checks send exactly these, and a
# function that raises on them is told what it was given.
DOCUMENTED = {
    "epsilon_greedy": "epsilon_greedy(Q, state, epsilon, rng) gets the Q table as a numpy float array of shape "
                      "(n_states, n_actions), the state as an int, epsilon as a float from 0 to 1 and rng as a "
                      "numpy Generator (np.random.default_rng); it returns an int.",
    "q_update": "q_update(Q, s, a, r, s2, terminated, alpha, gamma) gets the Q table as a numpy float array of "
                "shape (n_states, n_actions), s, a and s2 as ints, r as a float, terminated as a bool, alpha and "
                "gamma as floats; it changes Q[s, a] in place and returns the new value as a float.",
}


class _Raised(Exception):
    """A student function raised on its documented input; carries the feedback."""


def _call(session, fn, *args, **kwargs):
    """``session.call``; a student's exception on the documented input becomes _Raised with the feedback
    (a NotImplementedError passes on, for the pipeline to say the part is not written yet)."""
    try:
        return session.call(fn, *args, **kwargs)
    except StudentCodeError as exc:
        if exc.exc_type == "NotImplementedError" or exc.kind != "call":
            raise
        trace = f"\n\n{exc.traceback.strip()}" if exc.traceback.strip() else ""
        raise _Raised(f"{DOCUMENTED[fn]} Yours raised {exc}.{trace}") from None


def _feedback_on_raise(check):
    """The check, with a student function that raised on its documented input failing it with the feedback."""
    def run(ctx):
        try:
            return check(ctx)
        except _Raised as exc:
            return failed(str(exc))

    run.__name__, run.__doc__ = check.__name__, check.__doc__
    return run


# -- epsilon_greedy ----------------------------------------------------------------------------
def _actions(session, Q, state, epsilon, seed, n):
    values = _call(session, "epsilon_greedy", Q, state, epsilon, rng(seed), repeat=n).values
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < Q.shape[1]]
    if bad:
        raise StudentCodeError(
            f"epsilon_greedy must return an int from 0 to {Q.shape[1] - 1}; it returned {bad[0]!r}", kind="value")
    return np.bincount(values, minlength=Q.shape[1])


@_feedback_on_raise
def epsilon_greedy(ctx):
    session = ctx.session()
    Q = ctx.rng.normal(size=(6, 4))
    state = int(ctx.rng.integers(6))
    best = int(np.argmax(Q[state]))

    counts = _actions(session, Q, state, 0.0, 11, 40)
    if counts[best] != 40:
        hint, mistake = "", ""
        if counts.min() > 0:
            hint = (" Every action came up, as if you explored although epsilon is 0: exploration must happen "
                    "with probability epsilon, not 1 - epsilon. Check the direction of the comparison.")
            mistake = "epsilon_inverted"
        return failed(f"With epsilon=0 every action must be the greedy one, argmax(Q[state]) = {best}; "
                      f"your choices over 40 calls were {counts.tolist()} (count per action).{hint}",
                      mistake=mistake)

    counts = _actions(session, np.zeros((6, 4)), 2, 0.0, 12, 40)  # all tied: any action is greedy

    n = 800
    freq = _actions(session, Q, state, 1.0, 13, n) / n
    if np.any(np.abs(freq - 0.25) > 0.07):
        return failed(f"With epsilon=1 every action must be equally likely (about 0.25 each); your frequencies "
                      f"over {n} calls were {np.round(freq, 2).tolist()}. Exploration picks uniformly among "
                      "all actions, the greedy one included.")

    n, eps = 2000, 0.3
    greedy = _actions(session, Q, state, eps, 14, n)[best] / n
    expected = 1 - eps + eps / 4
    if abs(greedy - expected) > 0.05:
        hint, mistake = "", ""
        if abs(greedy - (eps + (1 - eps) / 4)) < 0.05:
            hint = " It looks like you explore with probability 1 - epsilon: check the direction of the comparison."
            mistake = "epsilon_inverted"
        return failed(f"With epsilon={eps} the greedy action should be chosen about {expected:.0%} of the time "
                      f"(1 - epsilon, plus its share of exploration); yours was chosen {greedy:.0%}.{hint}",
                      mistake=mistake)
    return passed("Greedy when epsilon=0, uniform when epsilon=1, and the right mix in between.")


# -- q_update ----------------------------------------------------------------------------------
def _expected(Q, s, a, r, s2, terminated, alpha, gamma):
    target = r if terminated else r + gamma * Q[s2].max()
    return (1 - alpha) * Q[s, a] + alpha * target


def _diagnose(value, Q, s, a, r, s2, terminated, alpha, gamma):
    """The known mistake that produces ``value``, or None."""
    old, best = Q[s, a], Q[s2].max()
    return first_mistake(value, [
        (r + gamma * best, "alpha_missing",
         "the learning rate is missing: the new value must blend the old one, (1 - alpha) * Q[s, a] + alpha * target"),
        ((1 - alpha) * old + alpha * (r + (0 if terminated else gamma * Q[s2].min())), "min_instead_of_max",
         "the target uses min instead of max over the next state's actions"),
        ((1 - alpha) * old + alpha * (r + (0 if terminated else gamma * Q[s2, a])), "bootstrap_same_action",
         "the target uses Q[s2, a]; Q-learning bootstraps from the best next action, max over a' of Q[s2, a']"),
        ((1 - alpha) * old + alpha * (r + (0 if terminated else best)), "gamma_missing",
         "the future value is not discounted by gamma"),
        ((1 - alpha) * old + alpha * (r + gamma * best), "terminal_bootstrap",
         "the update ignores `terminated`: when the episode ends there is no future value, the target is just r"),
        (alpha * old + (1 - alpha) * (r + (0 if terminated else gamma * best)), "alpha_swapped",
         "alpha and (1 - alpha) are swapped"),
    ], rtol=1e-5, atol=1e-6)


@_feedback_on_raise
def q_update(ctx):
    rng = ctx.rng
    big = rng.normal(size=(48, 4)) * 5
    cases = [
        # The lesson's worked example: a zero table, r = -1, alpha = 0.7, gamma = 0.99 gives -0.7.
        ("the lesson's example", np.zeros((9, 4)), 6, 1, -1.0, 7, False, 0.7, 0.99),
        ("a table with values", big, int(rng.integers(48)), int(rng.integers(4)), float(rng.normal()),
         int(rng.integers(48)), False, 0.5, 0.9),
        ("a terminal transition", big, 35, 2, 10.0, 47, True, 0.3, 0.95),
    ]
    session = ctx.session()
    for name, Q, s, a, r, s2, terminated, alpha, gamma in cases:
        Q = Q.copy()
        if terminated:
            Q[s2] = 50.0  # a terminal state's values must not leak into the target
        want = _expected(Q, s, a, r, s2, terminated, alpha, gamma)
        result = _call(session, "q_update", Q, s, a, r, s2, terminated, alpha, gamma, return_args=True)
        value, after = result.value, result.args[0]
        args = f"q_update(Q, s={s}, a={a}, r={r:.3g}, s2={s2}, terminated={terminated}, alpha={alpha}, gamma={gamma})"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return failed(f"On {name}, {args} returned {str(value)[:60]!r}; it must return the new Q[s, a] "
                          "as a number.")
        if not np.isclose(value, want, atol=1e-6):
            mistake = _diagnose(value, Q, s, a, r, s2, terminated, alpha, gamma)
            return failed(f"On {name}, {args} returned {value:.4f}; expected {want:.4f}."
                          + (f" It looks like {mistake.why}." if mistake else ""), mistake=mistake)
        if not isinstance(after, np.ndarray) or after.shape != Q.shape or not np.isclose(after[s, a], want):
            return failed(f"On {name}, {args} returned the right value but did not store it in Q[s, a]: "
                          "update the table in place (Q[s, a] = ...).", mistake="update_not_in_place")
        changed = ~np.isclose(after, Q)
        changed[s, a] = False
        if changed.any():
            return failed(f"On {name}, {args} changed entries of Q other than Q[s, a].",
                          mistake="other_entries_changed")
    return passed("Every update matched the Bellman update, terminal transitions included "
                  "(the lesson's example gives -0.7).")


# -- learning_curve ----------------------------------------------------------------------------
def greedy_return(Q, env_id, seed, max_steps):
    """Play the greedy policy of ``Q`` on the real environment; (return, reached the goal)."""
    host = EnvHost.for_episodes(env_id, seed, episodes=1, max_episode_steps=max_steps)
    try:
        obs, _ = host.env.reset(seed=seed)
        total, terminated = 0.0, False
        for _ in range(max_steps):
            obs, reward, terminated, truncated, _ = host.env.step(int(np.argmax(Q[obs])))
            total += float(reward)
            if terminated or truncated:
                break
        return total, bool(terminated)
    finally:
        host.close()


# train() gets these (the template's defaults); the table it returns must be the one Q-learning makes with them.
ALPHA, GAMMA = 0.5, 0.99
# Learning with one of q_update's named mistakes is learning too (the mistake costs q_update's points; the curve
# scores what that learning gives): the update as the lesson has it, then as each mistake makes it.
LEARNING_RULES: tuple[dict, ...] = (
    {},
    {"alpha": 1.0},  # alpha_missing: Q[s, a] = target
    {"bootstrap_terminal": True},  # terminal_bootstrap
    {"best": np.min},  # min_instead_of_max
)


def _learned(Q, transitions, shape) -> bool:
    """Whether ``Q`` is the table one of LEARNING_RULES makes from ``transitions`` (to 1e-6)."""
    for rule in LEARNING_RULES:
        replayed = replay_q_learning(transitions, shape, **{"alpha": ALPHA, "gamma": GAMMA, **rule})
        if np.allclose(Q.astype(float), replayed, rtol=1e-6, atol=1e-6):
            return True
    return False


def _evaluate(Q, host, cfg, seed):
    """The greedy return of the Q table train() returned, played here on the real environment; but only for the
    table that learning produced: every step train() took was recorded here, and replayed through Q-learning's
    update with the alpha and gamma it was given (or the update with one of q_update's named mistakes) they must
    give the same table."""
    n_states, n_actions = host.env.observation_space.n, host.env.action_space.n
    if not isinstance(Q, np.ndarray) or Q.shape != (n_states, n_actions) or Q.dtype.kind not in "fiu":
        shape = getattr(Q, "shape", type(Q).__name__)
        raise RunProblem(f"train returned {shape}, not a Q table of numbers of shape ({n_states}, {n_actions})")
    if not _learned(Q, host.transitions, (n_states, n_actions)):
        learned = replay_q_learning(host.transitions, (n_states, n_actions), alpha=ALPHA, gamma=GAMMA)
        s, a = np.unravel_index(int(np.argmax(np.abs(Q.astype(float) - learned))), learned.shape)
        raise RunProblem(
            f"the Q table train returned is not the one Q-learning makes from the {len(host.transitions)} steps it "
            f"took (replayed here with alpha={ALPHA}, gamma={GAMMA}, from a table of zeros): Q[{s}, {a}] is "
            f"{float(Q[s, a]):.4g}, learning gives {learned[s, a]:.4g}. The points are for the table your updates "
            "learned: train must update Q with q_update at every step and return that table")
    return greedy_return(Q, cfg.env, seed, cfg.eval_max_steps)[0]


# train() returns its Q table, which comes out and is played here greedily (no network to ask), once the steps it
# took (all recorded here) replay to it.
TRAINING = TrainFunction(evaluate=_evaluate, all_episodes=False, kwargs={"alpha": ALPHA, "gamma": GAMMA},
                         keep_every_step=True)


def learning_curve(ctx):
    cfg = ctx.spec.learning_curve
    return score_learning_curve(
        ctx, TRAINING, metric="greedy return of the learned Q table (IQM over runs)",
        missing=-float(cfg.eval_max_steps) * 100,  # a run that produced no Q table scores as the worst policy
        hint="A correct Q-learning agent reaches -13 (the path along the cliff) in "
             f"{cfg.episodes} episodes; check the update and the exploration.")
