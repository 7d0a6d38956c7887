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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from grader import evaluation
from grader.codec import TensorValue, fake_env_arg, mlp_arg, rng_arg, tensor_arg
from grader.envhost import EnvHost, derived_seed
from grader.errors import RunProblem, SessionEnded, StudentCodeError
from grader.fillin import MARKER, Gap, find as find_gaps, imports as module_imports
from grader.kinds.code import RUN_MARGIN_S
from grader.learning.checkpoints import checkpoints_on_reset
from grader.learning.integrity import AGREEMENT_EPISODES, final_evaluation
from grader.learning.outcome import k_of_n_outcome, tiered_outcome
from grader.learning.training import RunBoard, TrainingRun, training_run
from grader.report import Outcome, failed as _failed, passed
from grader.spec import LearningCurveSpec

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


def failed(feedback: str, *, mistake: "str | Mistake | None" = None, **details) -> Outcome:
    """No credit, with feedback; ``mistake`` names the known mistake (its id, or a Mistake; none when empty)."""
    if mistake:
        details["mistake"] = mistake if isinstance(mistake, str) else mistake.id
    return _failed(feedback, **details)


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


def instance_of(class_name: str) -> dict:
    """The policy a running function of the student's module holds, found by its class: the network that
    ``train()`` is training, asked for actions at episode boundaries while it waits for the environment."""
    return {"instance_of": class_name}


@dataclass(frozen=True)
class TrainFunction:
    """Training by a function of the module: ``train(env, episodes, seed=..., **kwargs)`` on the trusted
    environment, given ``cfg.episodes`` (``cfg.extra_episodes`` more resets allowed) and a seed derived from the
    hidden one.

    With ``policy`` (``instance_of("Policy")``), the policy being trained is evaluated during training at
    ``cfg.eval_every`` (a run at full credit stops there), and the value train() returns is kept in the
    sandbox and evaluated, each action chosen here by ``chooser`` from the network's outputs; it must be the
    network the optimiser trained, and its play must come from its parameters (docs/security.md). With
    ``evaluate`` instead, the returned value comes out (a Q table) and ``evaluate(value, host, cfg, seed) ->
    float`` scores it here, raising RunProblem when it cannot be evaluated (``host.transitions`` holds every
    step training took when ``keep_every_step``)."""

    fn: str = "train"
    policy: str | dict | None = None
    chooser: Callable[[object], int] = ARGMAX
    evaluate: Callable | None = None
    all_episodes: bool = True  # a run whose train() plays fewer than cfg.episodes is a problem
    kwargs: dict = field(default_factory=dict)  # passed to train() (the warm-up's alpha and gamma)
    keep_every_step: bool = False


@dataclass(frozen=True)
class TrainScript:
    """Training by the module itself, run top to bottom on the trusted environment (DQN's workshop script),
    for at most ``cfg.max_episodes`` episodes. The network evaluated is the one the script's optimiser stepped,
    its parameters read out as arrays and played here in ``architecture`` (the template's); before any step,
    the module global ``policy`` ("q")."""

    policy: str
    architecture: "evaluation.MLP"
    chooser: Callable[[object], int] = ARGMAX


def _function_run(ctx, training: TrainFunction, cfg: LearningCurveSpec, seed: int, board: RunBoard) -> TrainingRun:
    host = EnvHost.for_episodes(cfg.env, seed, episodes=cfg.episodes + cfg.extra_episodes,
                                max_episode_steps=cfg.max_episode_steps,
                                keep_episodes=None if training.keep_every_step else AGREEMENT_EPISODES)
    eval_seed = cfg.eval_seed_base + seed

    def train():
        evaluate = training.evaluate
        keep = "_trained_policy" if evaluate is None else None
        with ctx.running_session(session_timeout=cfg.run_timeout_s + RUN_MARGIN_S) as session:
            if training.policy is not None:  # evaluated before any learning and every eval_every episodes
                session.track()
                host.on_reset = checkpoints_on_reset(
                    evaluation.SandboxPolicy(session, training.policy, training.chooser), cfg, eval_seed)
            value = session.call(training.fn, host.arg(), cfg.episodes, seed=derived_seed(seed, "student"),
                                 env_host=host, timeout=cfg.run_timeout_s, keep=keep, **training.kwargs).value
            if training.all_episodes and len(host.episodes) < cfg.episodes:
                raise RunProblem(f"{training.fn} played {len(host.episodes)} episodes instead of {cfg.episodes}")
            if evaluate is None:  # the value train() returned was kept in the sandbox, as keep
                try:
                    return final_evaluation(evaluation.SandboxPolicy(session, keep, training.chooser), cfg,
                                            eval_seed, host)
                except StudentCodeError as exc:
                    raise RunProblem(f"{training.fn} returned a {value} that cannot choose actions: {exc}") from None
        return evaluate(value, host, cfg, seed)

    return training_run(host, seed, board, train)


def _script_run(ctx, training: TrainScript, cfg: LearningCurveSpec, seed: int, board: RunBoard) -> TrainingRun:
    host = EnvHost.for_episodes(cfg.env, seed, episodes=cfg.max_episodes, max_episode_steps=cfg.max_episode_steps,
                                keep_episodes=AGREEMENT_EPISODES)
    eval_seed = cfg.eval_seed_base + seed

    def train():
        agents = []

        def checkpoints(session):  # the policy, evaluated before any learning and every eval_every episodes
            agents.append(evaluation.TrustedNetwork(session, training.policy, training.architecture,
                                                    training.chooser, seed=derived_seed(seed, "fresh")))
            host.on_reset = checkpoints_on_reset(agents[0], cfg, eval_seed)

        with ctx.running_session(env_host=host, load_timeout=cfg.run_timeout_s, before_load=checkpoints,
                                 session_timeout=cfg.run_timeout_s + RUN_MARGIN_S) as session:
            if session.load_error is not None:
                raise RunProblem(str(session.load_error))
            return final_evaluation(agents[0], cfg, eval_seed, host)

    return training_run(host, seed, board, train)


def training_runs(ctx, training: TrainFunction | TrainScript, seeds: Iterable[int] | None = None, *,
                  every_run: bool = False) -> list[TrainingRun]:
    """One run per seed (the spec's hidden seeds by default; a calibration gives its own), each in its own
    sandbox, ``parallel_runs`` at a time; later runs are skipped once a run timed out or the finished ones
    decide the credit, unless ``every_run`` (a calibration measures each run)."""
    cfg = ctx.spec.learning_curve
    seeds = list(cfg.seeds if seeds is None else seeds)
    board = RunBoard(cfg, len(seeds), skip_decided=not every_run)
    if isinstance(training, TrainFunction):
        return ctx.parallel(lambda seed: _function_run(ctx, training, cfg, seed, board), seeds)
    return ctx.parallel(lambda seed: _script_run(ctx, training, cfg, seed, board), seeds)


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
