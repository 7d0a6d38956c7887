"""The check-author kit: everything an assignment's ``checks.py`` uses of the grader, and all it may use
(tests/test_dependencies.py holds every checks.py to importing this module and nothing else of Bellman).

A checks.py defines one function per ``[[checks]]`` id of its spec.toml, ``check(ctx) -> Outcome``. What
``ctx`` gives (grader.pipeline.CheckContext): ``ctx.session()`` (the sandbox the unit checks share, the
student's module loaded; ``session.call(name, *args)``, ``session.exec(code, inputs=..., outputs=...)``),
``ctx.rng`` (the hidden randomness of the inputs, seeded by the spec's ``check_seed``), ``ctx.spec`` (the
typed spec.toml) and ``ctx.job.source`` (the submission's source). What this module adds:

- verdicts: ``passed(feedback)``, ``failed(feedback, mistake="stable_id")`` (a mistake id is counted on the
  instructor's dashboard and listed in the assignment's README);
- known mistakes: ``first_mistake(got, candidates)``, the first of (value, id, why) that ``got`` matches;
- values from the sandbox: ``as_array`` (a tensor or array as a float array, or None), ``show``, and
  ``affine_fit`` (is a gradient proportional to what the concept says?);
- inputs for the sandbox: ``tensor``, ``rng``, ``mlp`` (a small network built there), ``fake_env``;
- a student function that raised on its documented input: ``raised``;
- learning curves: ``learning_curve(ctx, TrainFunction(...) or TrainScript(...), metric=...)`` trains one
  run per hidden seed in its own sandbox on the trusted environment, evaluates the policy with every action
  chosen on the trusted side (``chooser``: from the network's outputs; a TrainScript's network is played here
  in the template's ``MLP`` architecture), refuses what learning did not earn, and scores the runs by the
  spec's rule; ``replay_q_learning`` replays a tabular run's transitions through the reference update;
- fill-in templates: ``find_gaps`` and ``module_imports`` (a gap is one line ending in ``# FILL IN: <id>``);
- probes: ``probe(ctx, name, **inputs)`` runs the folder's ``probes/<name>.py`` in the sandbox.

See docs/assignments.md for how to write an assignment.
"""
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from grader import evaluation
from grader.codec import TensorValue, fake_env_arg, mlp_arg, rng_arg, tensor_arg
from grader.envhost import EnvHost, derived_seed
from grader.errors import RunProblem, SessionEnded, StudentCodeError
from grader.fillin import MARKER, Gap, find as find_gaps, imports as module_imports
from grader.learning.outcome import learning_curve
from grader.learning.training import TrainFunction, TrainingRun, TrainScript, instance_of, training_runs
from grader.report import Outcome, failed, passed

__all__ = [
    "affine_fit", "ARGMAX", "ARGMAX_OF_FIRST", "as_array", "derived_seed", "EnvHost", "failed", "fake_env",
    "find_gaps", "first_mistake", "Gap", "instance_of", "learning_curve", "MARKER", "Mistake", "MLP", "mlp",
    "module_imports", "Outcome", "passed", "probe", "raised", "replay_q_learning", "rng", "RunProblem",
    "sampling_verdict", "SessionEnded", "show", "StudentCodeError", "tensor", "TensorValue", "TrainFunction",
    "training_runs", "TrainingRun", "TrainScript",
]


# -- values that came out of the sandbox -------------------------------------------------------------
def as_array(value) -> np.ndarray | None:
    """A tensor (``TensorValue``) or numeric array that came out of the sandbox, as a float array; None for
    anything else (a list, a number, a string: the check says what it expected)."""
    if isinstance(value, TensorValue):
        return value.array.astype(float)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return value.astype(float)
    return None


def affine_fit(x, y) -> tuple[float, float]:
    """(slope, relative residual) of the least-squares fit ``y ~ slope * x + intercept``: whether a gradient is
    proportional to what a concept says, up to the scale and offset that correct variants may give it (a sum
    or a mean, a baseline, normalisation). A residual under 1e-3 is a fit."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(coef[0]), float(np.linalg.norm(A @ coef - y) / max(float(np.linalg.norm(y - y.mean())), 1e-12))


def show(array, precision: int = 3) -> str:
    """An array as feedback shows it: a few decimals, one line."""
    return np.array2string(np.asarray(array, dtype=float), precision=precision, max_line_width=200)


# -- inputs for the sandbox ----------------------------------------------------------------------------
tensor = tensor_arg  # tensor(array, grad=False, dtype="float32"): a torch tensor built in the sandbox
rng = rng_arg  # rng(seed): a numpy Generator built in the sandbox


mlp = mlp_arg  # mlp(layers): a torch.nn.Sequential of Linear layers with these weights, ReLU between, built there
fake_env = fake_env_arg  # fake_env(n_actions=, seed=, step=): an environment whose step() answers ``step``


# -- known mistakes --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mistake:
    """A known mistake: its stable id (the README lists it; the dashboard counts it) and the words for it."""

    id: str
    why: str


def first_mistake(got, candidates: Iterable[tuple], *, rtol: float = 1e-4, atol: float = 1e-4) -> Mistake | None:
    """The first known mistake whose value ``got`` matches: ``candidates`` are ``(value, id, why)``, the value
    each mistake would produce on the same inputs, in the order they are tried (most specific first)."""
    got = np.asarray(got, dtype=float)
    for value, mistake_id, why in candidates:
        value = np.asarray(value, dtype=float)
        if value.shape == got.shape and np.allclose(got, value, rtol=rtol, atol=atol):
            return Mistake(mistake_id, why)
    return None


# Two actions sampled SAMPLES times with these probabilities give 250 zeros, sd 13.7: [180, 320] is sampling.
SAMPLED_PROBS, SAMPLES, SAMPLED_ZEROS = (0.25, 0.75), 1000, (180, 320)


def sampling_verdict(actions: list, *, who: str, source: str) -> Outcome | None:
    """The verdict on ``actions``, what a select_action returned in SAMPLES calls on a policy whose action
    probabilities are SAMPLED_PROBS, or None when they are sampled from it. ``who`` samples ("REINFORCE", "the
    actor"), from ``source`` ("the policy's distribution"): the words of the feedback."""
    bad = [a for a in actions if isinstance(a, bool) or not isinstance(a, int) or a not in (0, 1)]
    if bad:
        what = "a tensor" if isinstance(bad[0], TensorValue) else repr(bad[0])[:40]
        return failed(f"select_action must return the action as an int (0 or 1), like action.item(); it returned "
                      f"{what}.")
    zeros, shown = actions.count(0), f"[{SAMPLED_PROBS[0]}, {SAMPLED_PROBS[1]}]"
    if zeros == 0:
        return failed(f"With action probabilities {shown}, select_action always chose action 1, the most likely "
                      f"one: {who} must sample its actions from {source} (torch.distributions.Categorical), not "
                      "act greedily, or it never explores.", mistake="acts_greedily")
    if not SAMPLED_ZEROS[0] <= zeros <= SAMPLED_ZEROS[1]:
        return failed(f"With action probabilities {shown}, select_action chose action 0 in {zeros} of {len(actions)} "
                      f"calls instead of about {SAMPLED_PROBS[0] * SAMPLES:.0f}: the actions must be sampled from "
                      f"{source.replace('distribution', 'probabilities')}.")
    return None


def raised(documented: str, exc: StudentCodeError, *, call: str = "Yours", hints: dict | None = None) -> Outcome:
    """The feedback for a student function that raised on its documented input: what it was given (the
    template's docstring, ``documented``), what it raised, a hint where the message has known words
    (``hints``: words -> hint), and the traceback. A NotImplementedError, or a fault that is not the call's
    (the module failed to load), passes on for the pipeline to say it."""
    if exc.exc_type == "NotImplementedError" or exc.kind != "call":
        raise exc
    hint = next((h for words, h in (hints or {}).items() if words in str(exc)), "")
    return failed(f"{documented} {call} raised {exc}. {hint}".strip()
                  + (f"\n\n{exc.traceback.strip()}" if exc.traceback.strip() else ""))


# -- probes: programs of the assignment's, run in the sandbox -------------------------------------------------
# A probe is a file of the assignment's folder, ``probes/<name>.py`` (linted and type-checked like the rest), that
# defines ``probe(submission, **inputs) -> dict``: it drives the student's loaded module (``submission``) on the
# inputs the check chose, inside the sandbox, and returns plain values (numbers, lists, tensors, dicts of them).
_PROBE_CALL = "\n\nimport sys as _sys\n\nprobe_result = probe(_sys.modules['submission'], **probe_inputs)\n"


def probe(ctx, name: str, **inputs) -> dict:
    """What the assignment's probe ``probes/<name>.py`` returns for ``inputs``, run in the sandbox the unit checks
    share. The student's code raising in it is StudentCodeError, as for ``session.call``."""
    path = ctx.job.assignment.file(f"probes/{name}.py")
    out = ctx.session().exec(path.read_text(encoding="utf-8") + _PROBE_CALL, inputs={"probe_inputs": inputs},
                             outputs=["probe_result"], with_module=True, name=f"probes/{name}.py")[0]
    result = out.get("probe_result")
    if not isinstance(result, dict):
        raise StudentCodeError(f"the probe {name} returned no result", kind="value")
    return result


# -- learning curves -------------------------------------------------------------------------------------
# How an action is chosen from what the network outputs for one state, on the trusted side: ``argmax`` is the
# greedy action of a Q network and the most likely action of a policy network; ``argmax_of_first`` the most likely
# action of a network that returns (probabilities, value), as an actor-critic's does.
ARGMAX = evaluation.argmax
ARGMAX_OF_FIRST = evaluation.argmax_of_first
MLP = evaluation.MLP


def replay_q_learning(transitions, shape: tuple[int, int], *, alpha: float, gamma: float,
                      bootstrap_terminal: bool = False, best=np.max) -> np.ndarray:
    """The Q table that Q-learning (a table of zeros, then ``Q[s, a] += alpha * (target - Q[s, a])`` at every step,
    the target ``r`` when the episode terminated and ``r + gamma * best(Q[s2])`` otherwise) makes from
    ``transitions``, the steps a run took in order (``EnvHost.transitions``). ``bootstrap_terminal`` and ``best``
    give the update with a known mistake (bootstrapping on terminal states; the min instead of the max), for a
    table learned with it."""
    Q = np.zeros(shape)
    for t in transitions:
        target = t.reward if t.terminated and not bootstrap_terminal else t.reward + gamma * best(Q[t.next_obs])
        Q[t.obs, t.action] += alpha * (target - Q[t.obs, t.action])
    return Q
