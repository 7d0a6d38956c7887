"""The untrusted side of the sandbox protocol.

Runs inside the sandbox, loads the student's file and answers the trusted side's
requests over framed JSON: on the process's original stdin/stdout (bwrap) or on a Unix
socket from the worker (docker). The student's own prints go to stderr, which the trusted
side captures apart from the protocol.
Nothing here decides a score: it only calls functions and reports what they returned.
"""
import contextlib
import importlib.util
import io
import math
import os
import re
import sys
import traceback
from types import FrameType
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import framing  # noqa: E402
import wire  # noqa: E402

MAX_OUT = 4 * 1024 * 1024
MAX_IN = 16 * 1024 * 1024
TRACEBACK_CHARS = 4000


class GymAlias:
    """``import gym`` (the library's old name: the DQN workshop's notebook and slides use it) gives gymnasium,
    its maintained successor, which is what the sandbox has; ``gym.spaces`` gives ``gymnasium.spaces`` and so on.
    Last on the import path: a real ``gym``, were one installed, would win. The trusted side tells the student."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "gym" or name.startswith("gym."):
            return importlib.util.spec_from_loader(name, GymAlias)  # type: ignore[arg-type]  # static methods
        return None

    @staticmethod
    def create_module(spec):
        return importlib.import_module("gymnasium" + spec.name[len("gym"):])

    @staticmethod
    def exec_module(module):
        pass


sys.meta_path.append(GymAlias)


class Channel:
    def __init__(self):
        # Keep private copies of the protocol pipes, then point fds 0 and 1 away from them
        # so that print() and os.write(1, ...) land in the captured output, not the protocol.
        path = os.environ.pop("BELLMAN_CHANNEL", "")
        if path:
            # Docker: a Unix socket bind-mounted from the worker, which avoids relaying
            # every message through the engine's attach stream.
            import socket
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            self._in: io.RawIOBase = sock.makefile("rb", buffering=0)
            self._out: io.RawIOBase = sock.makefile("wb", buffering=0)
        else:
            self._in = os.fdopen(os.dup(0), "rb", buffering=0)
            self._out = os.fdopen(os.dup(1), "wb", buffering=0)
        self._fd = self._in.fileno()
        self._buf = bytearray()  # one read() may bring several frames, or a header with its body
        # Called before any message other than an environment's: mirrored environments report
        # their last steps first, so that the trusted side has replayed them all by then.
        self.before_reply = []
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        sys.stdin = open(os.devnull)
        sys.stdout = sys.stderr

    def _read_exact(self, n):
        while len(self._buf) < n:
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                break
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def send(self, message):
        if not message["op"].startswith("env."):
            for flush in self.before_reply:
                flush()
        else:
            if message["op"] == "env.reset":  # how many steps training takes after an episode's last env step
                Optimisers.after_episode = max(Optimisers.after_episode, Optimisers.since_env)
            Optimisers.since_env = 0  # the optimiser steps counted from here are those after the last env step
        data = memoryview(framing.encode(message, max_bytes=MAX_OUT))
        while data:  # unbuffered writes may be partial
            data = data[self._out.write(data):]

    def receive(self):
        message = framing.read_frame(self._read_exact, max_bytes=MAX_IN)
        if message is None:
            raise SystemExit(0)
        return message


MODULE = None  # the student's module, from the start of its load (a script trains while it loads)


def _proxyenv():
    """The proxied environments' module, imported when a session first needs one (it imports gymnasium)."""
    import proxyenv
    return proxyenv


def make_mlp(layers):
    """A known network (Linear layers with ReLU between), for checks of code that uses one."""
    import torch
    import torch.nn as nn

    modules = []
    for i, (weight, bias) in enumerate(layers):
        linear = nn.Linear(len(weight[0]), len(weight))
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(weight))
            linear.bias.copy_(torch.tensor(bias))
        modules += [linear] + ([nn.ReLU()] if i < len(layers) - 1 else [])
    net = nn.Sequential(*modules)
    return lambda x: net(torch.as_tensor(x, dtype=torch.float32))


class FakeEnv:
    """An environment that answers step() with values chosen by the trusted side, and records the action."""

    def __init__(self, spec, channel):
        import gymnasium
        self.action_space: gymnasium.spaces.Discrete = gymnasium.spaces.Discrete(
            spec["n_actions"], seed=spec.get("seed"))
        self.observation_space = gymnasium.spaces.Box(-10, 10, shape=(spec.get("n_obs", 4),))
        self._step = spec.get("step")
        self.actions = []

    def step(self, action):
        import numpy as np
        self.actions.append(action.item() if hasattr(action, "item") else action)
        obs, reward, terminated, truncated, info = self._step
        return np.asarray(obs, dtype=np.float32), reward, terminated, truncated, info

    def reset(self, **kwargs):
        import numpy as np
        return np.zeros(self.observation_space.shape, dtype=np.float32), {}


def run_snippet(channel, request, module=None):
    """Run a statement the trusted side took from the student's file (or wrote to drive the student's
    functions and classes), on inputs it chose.

    Each repetition gets a fresh namespace over the same input objects (over the loaded module's names
    when ``with_module``); the named outputs come back.
    """
    try:
        # A statement of the student's keeps their file's name and line; the grader's own code is "<check>", or
        # the probe file's name it was read from (an assignment's probes/).
        path = f"<{request.get('name') or 'check'}>" if request.get("with_module") else "/submission/submission.py"
        setup = compile(request.get("imports", ""), path, "exec")
        # Padded to its line in the student's file, so that a traceback points at the right line.
        code = compile("\n" * (int(request.get("line", 1)) - 1) + request["code"], path, "exec")
        inputs = decode_value(request.get("inputs", {}), channel)
        context: type[contextlib.AbstractContextManager] = contextlib.nullcontext
        if request.get("no_grad"):
            import torch
            context = torch.no_grad
        results = []
        for _ in range(int(request.get("repeat", 1))):
            namespace = dict(vars(module)) if request.get("with_module") and module is not None else {}
            exec(setup, namespace)
            namespace.update(inputs)
            with context():
                exec(code, namespace)
            results.append({name: namespace.get(name) for name in request.get("outputs", [])}
                           | {f"{name}.actions": namespace[name].actions
                              for name in inputs if isinstance(inputs[name], FakeEnv)})
    except BaseException as exc:  # noqa: BLE001 - the student's line may raise anything
        channel.send(fault("call", exc))
        return
    try:
        channel.send({"op": "return", "values": [encode_value(r) for r in results]})
    except (ValueError, RecursionError, framing.FrameError) as exc:
        channel.send({"op": "raise", "kind": "value", "type": type(exc).__name__,
                      "message": f"the result cannot be sent back: {str(exc)[:200]}", "traceback": ""})


def decode_value(value, channel):
    if isinstance(value, list):
        return [decode_value(v, channel) for v in value]
    if not isinstance(value, dict):
        return value
    if wire.ND in value:
        import numpy as np
        nd = value[wire.ND]
        return np.array(nd["data"], dtype=nd["dtype"]).reshape(nd["shape"])
    if wire.RNG in value:
        import numpy as np
        return np.random.default_rng(value[wire.RNG])
    if wire.ENV in value:
        return _proxyenv().make_proxy_env(channel, value[wire.ENV], NESTED)
    if wire.TENSOR in value:
        import torch
        nd = value[wire.TENSOR]
        tensor = torch.tensor(nd["data"], dtype=getattr(torch, nd["dtype"])).reshape(nd["shape"])
        return tensor.requires_grad_(True) if nd.get("grad") else tensor
    if wire.MLP in value:
        return make_mlp(value[wire.MLP])
    if wire.FAKE_ENV in value:
        return FakeEnv(value[wire.FAKE_ENV], channel)
    return {k: decode_value(v, channel) for k, v in value.items()}


encode_value = wire.encode


def short_traceback(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Frames of the runner itself are noise to a student.
    kept = [line for line in lines if "/opt/bellman/runner/" not in line]
    return "".join(kept)[-TRACEBACK_CHARS:]


def fault(kind, exc):
    return {"op": "raise", "kind": kind, "type": type(exc).__name__,
            "message": str(exc)[:1000], "traceback": short_traceback(exc)}


CELL_MARK = re.compile(r"^# --- cell (\d+) ---$", re.M)


def run_cells(module, path):
    """A notebook runs cell by cell, as in Jupyter: a failing cell is reported and the rest still run."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    marks = list(CELL_MARK.finditer(source))
    errors = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(source)
        # Pad with newlines so that tracebacks give the line numbers of the whole file.
        code = "\n" * source.count("\n", 0, mark.start()) + source[mark.start():end]
        try:
            exec(compile(code, path, "exec"), vars(module))
        except BaseException as exc:  # noqa: BLE001 - a cell may raise anything, SystemExit included
            message = str(exc)[:200]
            errors.append(f"cell {mark.group(1)} raised {type(exc).__name__}" + (f": {message}" if message else ""))
    return errors


def load(channel, path, cells, env=None, track=False):
    """Run the student's file as a module. With ``env``, a script that makes its own environment
    (``gym.make(...)``) gets the proxied one instead, and running out of the trusted side's budget
    ends the script normally: that is how a training script's run ends."""
    global MODULE
    spec = importlib.util.spec_from_file_location("submission", path)
    assert spec is not None and spec.loader is not None  # a .py file's path always has both
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    MODULE = module
    cell_errors, stopped = [], ""
    if track:  # before the student's file runs: every optimiser step it takes is seen
        with contextlib.suppress(ImportError):  # without torch there is nothing to track (and nothing evaluated)
            Optimisers.install()
    env_errors: tuple = ()
    if env is not None:
        import gymnasium
        proxyenv = _proxyenv()
        env_errors = (proxyenv.EnvError,)
        proxy = proxyenv.make_proxy_env(channel, env, NESTED)
        gymnasium.make = lambda *args, **kwargs: proxy
    try:
        if cells:
            cell_errors = run_cells(module, path)
        else:
            spec.loader.exec_module(module)
    except env_errors as exc:  # the trusted side's budget is spent: that is how a training script's run ends
        stopped = str(exc)
    except BaseException as exc:  # noqa: BLE001 - a student's module may raise anything, SystemExit included
        channel.send(fault("import", exc))
        return None
    names = sorted(n for n in vars(module) if not n.startswith("_"))
    channel.send({"op": "ready", "names": names[:500], "cell_errors": cell_errors[:50], "stopped": stopped})
    return module


def resolve_policy(module, policy):
    """The network to ask: a name in the module (``"q"``), or ``{"instance_of": "Policy"}``, the instance of
    that class of the module held by a function of the module now running (the policy ``train()`` is
    training, found while it waits for an environment's answer)."""
    if isinstance(policy, str):
        return getattr(module, policy)
    cls = getattr(module, policy["instance_of"])
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_globals is vars(module):
            for value in list(frame.f_locals.values()):
                if isinstance(value, cls):
                    return value
        frame = frame.f_back
    raise LookupError(f"no {policy['instance_of']} is being trained yet")


def reinit(channel, module, request):
    """A copy of the policy being trained with its parameters initialised afresh (every submodule's
    ``reset_parameters``, under the seed ``draw``; torch's random state restored after), kept under
    ``_untrained_policy``. Answers with (parameters in all, parameters initialised afresh)."""
    try:
        import copy

        import torch
        policy = resolve_policy(module, request["policy"])
        fresh = copy.deepcopy(policy)
        modules = list(fresh.modules()) if isinstance(fresh, torch.nn.Module) else []
        total = sum(p.numel() for p in fresh.parameters()) if modules else 0
        renewed = 0
        state = torch.random.get_rng_state()
        try:
            torch.manual_seed(int(request.get("draw", 0)))
            for sub in modules:
                reset = getattr(sub, "reset_parameters", None)
                if callable(reset):
                    reset()
                    renewed += sum(p.numel() for p in sub.parameters(recurse=False))
        finally:
            torch.random.set_rng_state(state)
        vars(module)["_untrained_policy"] = fresh
        channel.send({"op": "return", "values": [[int(total), int(renewed)]]})
    except BaseException as exc:  # noqa: BLE001
        channel.send(fault("call", exc))


def inspect_policy(channel, module, request):
    """(number of parameters, a fingerprint of their values, how many of its trainable values an optimiser
    stepped, ``Optimisers.integrity``) of the policy being trained: the trusted side sees whether training steps
    changed it, and whether it is what training trained. None for a fingerprint that is not a finite number."""
    try:
        import torch
        policy = resolve_policy(module, request["policy"])
        params = list(policy.parameters()) if isinstance(policy, torch.nn.Module) else []
        stepped = Optimisers.ids()
        Optimisers.baseline(params)
        with torch.no_grad():
            total = sum(p.numel() for p in params)
            value = (float(sum((p.double().abs().sum() + 0.5 * p.double().sum()).item() for p in params))
                     if params else 0.0)
            trained = sum(p.numel() for p in params if p.requires_grad and id(p) in stepped)
        channel.send({"op": "return", "values": [[int(total), value if math.isfinite(value) else None,
                                                  int(trained), Optimisers.integrity(params)]]})
    except BaseException as exc:  # noqa: BLE001
        channel.send(fault("call", exc))


def act(channel, module, request):
    """What the policy outputs for one observation (its action probabilities, its Q-values: a tensor, or a
    tuple of tensors), sent out as numbers: the trusted side chooses the action from them. Evaluation asks
    only for these; no code of the grader's runs here to pick an action. With ``each`` instead of ``obs``: the
    outputs for each of several observations, one forward pass per observation as for one (never a batch, which
    a network may treat differently), in one answer; an output that is not plain numbers is None there (the
    trusted side asks for it alone, which bounds the answer's size).

    With ``inference``, a network is put in eval() mode for these forward passes and back in the mode it
    was in after them (an evaluation in the middle of training must not change how training goes on)."""
    try:
        import torch
        network = resolve_policy(module, request["policy"])
        training = getattr(network, "training", None)
        if request.get("inference") and training is not None:
            network.eval()
        try:
            with torch.no_grad():
                if "each" in request:
                    value = [_plain(network(torch.as_tensor(obs, dtype=torch.float32))) for obs in request["each"]]
                else:
                    value = _numbers(network(torch.as_tensor(request["obs"], dtype=torch.float32)))
        finally:
            if request.get("inference") and training is not None:
                network.train(training)
        channel.send({"op": "return", "values": [value]})
    except BaseException as exc:  # noqa: BLE001
        channel.send(fault("call", exc))


def _numbers(output):
    """A network's output as plain numbers (``_plain``), or tagged as any value is when it is something else or
    holds NaN or infinities."""
    plain = _plain(output)
    return plain if plain is not None else encode_value(output)


def _plain(output):
    """A network's output as plain numbers, one list per tensor (a tensor, or a tuple of them; one answer per
    evaluation step, so without the tags' overhead); None when it is something else, larger, or holds NaN or
    infinities."""
    import torch
    tensors = output if isinstance(output, tuple) else (output,)
    if tensors and all(isinstance(t, torch.Tensor) and t.numel() <= 4096 for t in tensors):
        values = [t.detach().cpu().double() for t in tensors]
        if all(bool(torch.isfinite(v).all()) for v in values):
            return {"numbers": [v.tolist() for v in values], "tuple": isinstance(output, tuple)}
    return None


class Optimisers:
    """Every optimiser that stepped since training began, with its step count and the parameter tensors it
    stepped (global pre- and post-step hooks of torch.optim): the trusted side asks which network training
    really updated, not what a name points to at the end.

    And whether anything but optimiser steps changed those parameters: each one's values are kept after every
    step, and from the first time the trusted side reads it (``baseline``: before any learning); the next step
    compares. A change between two looks (a ``load_state_dict`` of hand-made values, say) is counted as
    ``tampered``; a parameter first seen at its first step (a network the trusted side never saw before
    training began) as ``unseen``."""

    stepped: dict[int, list] = {}  # id(optimiser) -> [optimiser, steps]
    kept: dict[int, tuple] = {}  # id(parameter) -> (a weak reference to it, its values when last seen)
    tampered = 0  # steps that found a parameter changed since it was last seen
    since_env = 0  # optimiser steps since the last message to the environment (training's last step in it)
    after_episode = 0  # the most optimiser steps between an episode's end and the next reset
    unseen: dict[int, Any] = {}  # id(parameter) -> a weak reference to it, for parameters first seen at a step

    @classmethod
    def install(cls):
        from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook
        register_optimizer_step_pre_hook(cls._before)
        register_optimizer_step_post_hook(cls._after)

    @staticmethod
    def _params(optimizer) -> list:
        return [p for group in optimizer.param_groups for p in group["params"]]

    @classmethod
    def _seen(cls, p):
        entry = cls.kept.get(id(p))
        return entry[1] if entry is not None and entry[0]() is p else None

    @classmethod
    def _keep(cls, p):
        import weakref
        cls.kept[id(p)] = (weakref.ref(p), p.detach().clone())

    @classmethod
    def baseline(cls, params):
        """The trusted side looks at these parameters: what they are now is where learning starts from."""
        import torch
        with torch.no_grad():
            for p in params:
                if cls._seen(p) is None:
                    cls._keep(p)

    @classmethod
    def _before(cls, optimizer, args, kwargs):
        import torch
        with torch.no_grad():
            changed = False
            for p in cls._params(optimizer):
                seen = cls._seen(p)
                if seen is None:
                    import weakref
                    cls.unseen[id(p)] = weakref.ref(p)
                elif seen.shape != p.shape or not torch.equal(seen, p.detach()):
                    changed = True
            cls.tampered += changed

    @classmethod
    def _after(cls, optimizer, args, kwargs):
        import torch
        entry = cls.stepped.setdefault(id(optimizer), [optimizer, 0])
        entry[1] += 1
        cls.since_env += 1
        with torch.no_grad():
            for p in cls._params(optimizer):
                cls._keep(p)

    @classmethod
    def busiest(cls):
        """The optimiser that stepped most, and its steps; (None, 0) before any step."""
        if not cls.stepped:
            return None, 0
        optimizer, steps = max(cls.stepped.values(), key=lambda entry: entry[1])
        return optimizer, steps

    @classmethod
    def tensors(cls) -> tuple[list, int]:
        """The parameters of the optimiser that stepped most, in its order (that of ``module.parameters()``
        for ``Adam(q.parameters())``), and its steps; ([], 0) before any step."""
        optimizer, steps = cls.busiest()
        return (cls._params(optimizer) if optimizer is not None else []), steps

    @classmethod
    def ids(cls) -> set:
        return {id(p) for optimizer, _ in cls.stepped.values() for p in cls._params(optimizer)}

    @classmethod
    def integrity(cls, params) -> list:
        """[steps that found these parameters changed outside a step, values of them first seen at a step, optimiser
        steps since the last message to the environment, the most between an episode's end and the next reset]."""
        unseen = sum(p.numel() for p in params if id(p) in cls.unseen and cls.unseen[id(p)]() is p)
        return [int(cls.tampered), int(unseen), int(cls.since_env), int(cls.after_episode)]


def parameters(channel, module, request):
    """The values of a network's parameters as arrays, in order: those the busiest optimiser stepped
    (``"stepped"``), or a named network's; with its steps and ``Optimisers.integrity``. The trusted side loads
    them into the assignment's architecture and plays its evaluation there."""
    try:
        import torch
        if request.get("policy") == "stepped":
            tensors, steps = Optimisers.tensors()
        else:
            network = resolve_policy(module, request["policy"])
            tensors = list(network.parameters()) if isinstance(network, torch.nn.Module) else []
            steps = 0
        tensors = [t for t in tensors if isinstance(t, torch.Tensor)]
        Optimisers.baseline(tensors)
        with torch.no_grad():
            arrays = [t.detach().cpu().float().numpy() for t in tensors]
        channel.send({"op": "return", "values": [[int(steps), [encode_value(a) for a in arrays],
                                                  Optimisers.integrity(tensors)]]})
    except BaseException as exc:  # noqa: BLE001
        channel.send(fault("call", exc))


ABLATED: dict[int, list] = {}  # id(policy) -> the values of its parameters before they were shuffled


def ablate(channel, module, request):
    """Shuffle the values within every trainable parameter of the policy, in place (a generator seeded by
    ``draw``), keeping everything else about the object (its other attributes, buffers, hooks, counters, the
    module's globals); or, with ``restore``, put the trained values back. A policy whose play does not come from
    its trained parameters plays as well shuffled. Answers with the number of values shuffled."""
    try:
        import torch
        policy = resolve_policy(module, request["policy"])
        params = [p for p in policy.parameters() if p.requires_grad] if isinstance(policy, torch.nn.Module) else []
        with torch.no_grad():
            if request.get("restore"):
                for p, saved in zip(params, ABLATED.pop(id(policy), []), strict=False):
                    p.copy_(saved)
            else:
                ABLATED.setdefault(id(policy), [p.detach().clone() for p in params])
                generator = torch.Generator().manual_seed(int(request.get("draw", 0)))
                for p in params:
                    flat = p.data.view(-1) if p.is_contiguous() else p.data.reshape(-1)
                    p.copy_(flat[torch.randperm(flat.numel(), generator=generator)].view_as(p))
        channel.send({"op": "return", "values": [sum(p.numel() for p in params)]})
    except BaseException as exc:  # noqa: BLE001
        channel.send(fault("call", exc))


def call(channel, module, request):
    fn = getattr(module, request["fn"], None)
    if not callable(fn):
        channel.send({"op": "raise", "kind": "missing", "type": "AttributeError",
                      "message": f"{request['fn']} is not defined", "traceback": ""})
        return
    try:
        args = decode_value(request.get("args", []), channel)
        kwargs = decode_value(request.get("kwargs", {}), channel)
        values = [fn(*args, **kwargs) for _ in range(int(request.get("repeat", 1)))]
    except BaseException as exc:  # noqa: BLE001 - reported to the trusted side as the student's fault
        channel.send(fault("call", exc))
        return
    if request.get("keep"):
        # The value stays here under a name (a trained policy, for `act`); only its type goes out.
        vars(module)[str(request["keep"])] = values[-1]
        values = [type(v).__name__ for v in values]
    try:
        reply = {"op": "return", "values": [encode_value(v) for v in values]}
        if request.get("return_args"):
            reply["args"] = [encode_value(a) for a in args]
        channel.send(reply)
    except (ValueError, RecursionError, framing.FrameError) as exc:
        channel.send({"op": "raise", "kind": "value", "type": type(exc).__name__,
                      "message": f"the returned value cannot be sent back: {str(exc)[:200]}", "traceback": ""})


# What the runner answers while it waits for an environment's reply (training paused at an episode boundary).
NESTED = {"act": lambda channel, request: act(channel, MODULE, request),
          "params": lambda channel, request: parameters(channel, MODULE, request),
          "ablate": lambda channel, request: ablate(channel, MODULE, request),
          "exec": lambda channel, request: run_snippet(channel, request, MODULE),
          "reinit": lambda channel, request: reinit(channel, MODULE, request),
          "inspect": lambda channel, request: inspect_policy(channel, MODULE, request)}


def main():
    channel = Channel()
    module = None
    while True:
        request = channel.receive()
        op = request.get("op")
        if op == "load":
            module = load(channel, request["path"], bool(request.get("cells")), request.get("env"),
                          bool(request.get("track")))
        elif op == "call" and module is not None:
            call(channel, module, request)
        elif op == "exec":
            run_snippet(channel, request, module)
        elif op == "act" and module is not None:
            act(channel, module, request)
        elif op == "reinit" and module is not None:
            reinit(channel, module, request)
        elif op == "inspect" and module is not None:
            inspect_policy(channel, module, request)
        elif op == "params" and module is not None:
            parameters(channel, module, request)
        elif op == "ablate" and module is not None:
            ablate(channel, module, request)
        elif op == "track":
            try:
                Optimisers.install()
                channel.send({"op": "return", "values": [None]})
            except BaseException as exc:  # noqa: BLE001 - torch missing, say
                channel.send(fault("call", exc))
        elif op == "bye":
            return
        else:
            channel.send({"op": "raise", "kind": "protocol", "type": "RuntimeError",
                          "message": f"unexpected request {op!r}", "traceback": ""})


if __name__ == "__main__":
    main()
