"""The trusted side of the sandbox protocol.

A ``Session`` owns one sandbox: it sends requests, serves the proxied environment while a
call runs, validates every message that comes out, and turns every way the sandbox can
fail into a ``SessionEnded`` with a verdict. Values coming out are data only, decoded by
``grader.codec.decode_value``; nothing is ever unpickled or evaluated.
"""
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from grader.codec import Tampering, Unsupported, decode_value, encode_value, numbers
from grader.errors import EnvMismatch, InfrastructureError, SessionEnded, StudentCodeError
from sandbox.base import RUNNER_DIR, Sandbox, SandboxTimeout, SandboxUnavailable, grant
from sandbox.runner import framing, wire

MAX_IN = 4 * 1024 * 1024  # the largest message accepted from inside
MAX_OUT = 16 * 1024 * 1024
ACT_EACH = 32  # observations per act_each request: 32 outputs of up to 4096 numbers each stay under MAX_IN
SUBMISSION_FILE = "submission.py"
FROM_SANDBOX: dict[str, dict[str, type]] = {
    "ready": {"names": list},
    "return": {"values": list},
    "raise": {"kind": str, "type": str, "message": str, "traceback": str},
    "env.reset": {"env": str},
    "env.step": {"env": str},
    "env.actions": {"env": str, "actions": list},
}


def validate(message):
    """Check a message from inside against the schema; raise SessionEnded('protocol') if it fails."""
    op = message.get("op")
    fields = FROM_SANDBOX.get(op) if isinstance(op, str) else None
    if fields is None:
        raise SessionEnded(f"the sandbox sent an unknown message {str(op)[:40]!r}", verdict="protocol")
    for name, kind in fields.items():
        if not isinstance(message.get(name), kind):
            raise SessionEnded(f"the sandbox sent a malformed {op!r} message", verdict="protocol")
    return message


def _raised(reply) -> StudentCodeError:
    """The student's exception, from a ``raise`` message."""
    return StudentCodeError(f"{reply['type']}: {reply['message']}", kind=reply["kind"], exc_type=reply["type"],
                            traceback=reply["traceback"])


class CallResult:
    def __init__(self, values, args):
        self.values = values
        self.args = args

    @property
    def value(self):
        return self.values[0]


# What usually makes each kind of request run out of time, said to the student with the limit.
LOAD_CAUSE = ("The grader loads your file (runs its top level) before any check: put training, episodes played "
              "to try things out and plots under `if __name__ == \"__main__\":`, and look for a loop that never "
              "ends.")
ENDLESS_LOOP = "The usual cause is an endless loop: a `while` whose condition never changes."
TRAINING_CAUSE = ("Usual causes: an episode loop that never ends (it must stop when `terminated or truncated`), "
                  "or much more work per step than needed.")
SCRIPT_CAUSE = ("Usual causes: an episode loop that never ends (it must stop when `terminated or truncated`), "
                "or more episodes or updates than fit in the time.")


@dataclass(frozen=True)
class TimedOut:
    """What a request was doing, in the student's words, for the verdict when its time runs out."""

    doing: str  # "Loading your file", "train()", ...
    limit: float  # seconds
    cause: str = ENDLESS_LOOP

    def message(self, *, session_total: float | None = None) -> str:
        """The verdict; ``session_total`` when the sandbox's total time ran out before the request's own."""
        if session_total is not None:
            return (f"{self.doing} did not finish: the sandbox's total time of {session_total:g} s ran out "
                    f"(every call the grader makes to your code in it counts). {self.cause}")
        return f"{self.doing} did not finish within its time limit of {self.limit:g} s. {self.cause}"


class Session:
    """One sandbox running the runner over one student file."""

    def __init__(self, backend, source: str, limits, *, request_timeout: float, session_timeout: float,
                 tmp_root: str | None = None):
        self.request_timeout = request_timeout
        self.session_timeout = session_timeout
        self.opened_at = time.monotonic()
        self.deadline = self.opened_at + session_timeout
        self.busy_s = 0.0  # waiting for the sandbox's answers: the student's code running (and the round trips)
        self.paused_s = 0.0  # the trusted side's own work while the sandbox waited, credited to the deadlines
        self.last_deadline = float("inf")  # no credit past this (the grading's deadline)
        if tmp_root:  # a fresh host's SANDBOX_TMP_DIR (a volume mounted empty) is made, not a failed grading
            Path(tmp_root).mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="bellman-", dir=tmp_root))  # 0700 until staged
        self.ended: SessionEnded | None = None
        self.names: list[str] = []
        self.cell_errors: list[str] = []
        self.load_error: StudentCodeError | None = None
        # Set for the whole life of the session: when it cannot start, no Session is made (only the folder
        # staged for it is removed).
        self.sandbox: Sandbox
        try:
            self._stage(source)
            self.sandbox = backend.start(self.dir, limits)
        except SandboxUnavailable as exc:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise InfrastructureError(str(exc)) from exc
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _stage(self, source):
        """Everything the sandbox may read: the student's file and the runner, copied, read-only to it.

        Run as root, the folder belongs to root with the sandbox's group (uid and gid 65534 inside both
        backends): the sandbox can read it and nobody else on the host can. Otherwise (a developer's
        machine) it is world-readable, as the sandbox's uid could not read it any other way."""
        for sub in ("submission", "runner"):
            (self.dir / sub).mkdir()
        (self.dir / "submission" / SUBMISSION_FILE).write_text(source, encoding="utf-8")
        for name in ("runner.py", "framing.py", "wire.py", "proxyenv.py"):
            shutil.copyfile(RUNNER_DIR / name, self.dir / "runner" / name)
        grant(self.dir)
        for sub in ("submission", "runner"):
            grant(self.dir / sub)
            for path in (self.dir / sub).iterdir():
                grant(path)

    # -- low level -----------------------------------------------------------------------------
    def _send(self, message, deadline=None):
        """Send one message; the sandbox must take it before ``deadline`` (by default the request's
        time limit from now), and never after the session's: code that floods the channel and stops
        reading ends the session instead of holding the worker."""
        deadline = min(deadline or time.monotonic() + self.request_timeout, self.deadline)
        try:
            self.sandbox.write(framing.encode(message, max_bytes=MAX_OUT), deadline)
        except SandboxTimeout:
            self._end("stalled", "Your code stopped reading the grader's answers (a loop that sends requests to "
                                 "the environment without waiting for each reply?), so the grader stopped it.")

    def _receive(self, deadline, timed_out: "TimedOut"):
        """The next message from inside; ``timed_out`` words the verdict if no message comes in time."""
        deadline += self.paused_s  # what the trusted side took meanwhile (evaluations) is not the student's time
        session_ends_first = self.deadline < deadline
        protocol = self.sandbox.protocol
        assert protocol is not None  # the backends open the channel before start() returns
        waiting_since = time.monotonic()
        try:
            message = framing.read_frame(
                lambda n: protocol.read_exact(n, min(deadline, self.deadline)), max_bytes=MAX_IN)
        except SandboxTimeout:
            self._end("timeout", timed_out.message(session_total=self.session_timeout if session_ends_first else None))
        except framing.FrameError as exc:
            self._end("protocol", f"The sandbox broke the protocol: {exc}.")
        finally:
            self.busy_s += time.monotonic() - waiting_since
        if message is None:
            self._end_crashed()
        return validate(message)

    def _end_crashed(self) -> NoReturn:
        time.sleep(0.05)  # let the backend record how the process ended
        if self.sandbox.output.overflowed:
            self._end("output", f"Your code printed more than {self.sandbox.limits.output_bytes >> 20} MB; "
                                "print less (every few episodes, not every step).")
        info = self.sandbox.exit_info()
        if "memory" in info or "signal 9" in info:
            self._end("memory", f"Your code was stopped ({info}); it may have used more than "
                                f"{self.sandbox.limits.memory_mb} MB of memory (a replay buffer or a list of "
                                "tensors that keeps growing?).")
        self._end("crashed", f"Your code ended the sandbox ({info}).")

    def _end(self, verdict: str, message: str) -> NoReturn:
        self.ended = ended = SessionEnded(message, verdict=verdict)
        self.sandbox.kill(verdict)
        raise ended

    def _serve(self, env_host, request, deadline):
        """Answer one environment request (a mirrored environment's report of its steps gets no answer)."""
        try:
            answer = env_host.handle_request(request)
        except EnvMismatch as exc:
            self._end("environment", str(exc))
        if answer is not None:
            self._send(answer, deadline + self.paused_s)

    def _deadline_in(self, limit: float) -> float:
        """A request's deadline ``limit`` seconds from now, before the pauses it will be credited (_receive)."""
        return time.monotonic() + limit - self.paused_s

    def pause(self, seconds: float) -> None:
        """Credit ``seconds`` the trusted side spent while the sandbox waited (an evaluation at an episode
        boundary) to the request under way and to the session: the student's time limits count their code.
        Never past ``last_deadline`` (the grading's own, set by the pipeline)."""
        seconds = max(0.0, min(seconds, self.last_deadline - self.deadline))
        self.paused_s += seconds
        self.deadline += seconds

    def _check_alive(self):
        if self.ended is not None:
            raise self.ended

    # -- requests ------------------------------------------------------------------------------
    def load(self, *, cells: bool = False, env_host=None, timeout=None):
        """Import the student's module (a notebook cell by cell when ``cells``).

        Returns None, or the StudentCodeError it raised on import. A notebook's failing
        cells do not stop the load: they are listed in ``cell_errors``.
        """
        self._check_alive()
        request = {"op": "load", "path": f"/submission/{SUBMISSION_FILE}", "cells": cells}
        if env_host is not None:  # a training script: its optimiser steps are tracked from its first line
            request["env"] = env_host.arg()[wire.ENV]
            request["track"] = True
        self._send(request)
        limit = timeout or self.request_timeout
        if env_host is not None:
            timed_out = TimedOut("Your script (the grader runs all of it to train)", limit, SCRIPT_CAUSE)
        else:
            timed_out = TimedOut("Loading your file", limit, LOAD_CAUSE)
        deadline = self._deadline_in(limit)
        reply = self._receive(deadline, timed_out)
        while reply["op"].startswith("env.") and env_host is not None:
            self._serve(env_host, reply, deadline)
            reply = self._receive(deadline, timed_out)
        if reply["op"] == "ready":
            self.names = [n for n in reply["names"] if isinstance(n, str)]
            errors = reply.get("cell_errors", [])
            self.cell_errors = [e[:300] for e in errors if isinstance(e, str)] if isinstance(errors, list) else []
            return None
        if reply["op"] == "raise":
            self.load_error = StudentCodeError(
                f"{reply['type']}: {reply['message']}", kind="import", exc_type=reply["type"],
                traceback=reply["traceback"])
            return self.load_error
        self._end("protocol", f"unexpected {reply['op']!r} while loading")

    def call(self, fn, *args, env_host=None, repeat=1, return_args=False, timeout=None, keep=None, **kwargs):
        """Call ``fn`` in the sandbox; serve ``env_host`` while it runs; return a CallResult.

        With ``keep``, the returned object stays in the sandbox under that name (for ``act``, say) and
        only the name of its type comes back.

        Raises StudentCodeError if the function raised or returned something undecodable,
        and SessionEnded if the sandbox timed out, crashed or misbehaved.
        """
        self._check_alive()
        if self.load_error is not None:
            raise self.load_error
        self._send({"op": "call", "fn": fn, "args": encode_value(list(args)),
                    "kwargs": encode_value(kwargs), "repeat": repeat, "return_args": return_args,
                    **({"keep": keep} if keep else {})})
        limit = timeout or self.request_timeout
        deadline = self._deadline_in(limit)
        timed_out = TimedOut(f"{fn}()", limit, TRAINING_CAUSE if env_host is not None else ENDLESS_LOOP)
        while True:
            reply = self._receive(deadline, timed_out)
            op = reply["op"]
            if op.startswith("env."):
                if env_host is None:
                    self._end("protocol", "the sandbox asked for an environment it was not given")
                self._serve(env_host, reply, deadline)
                continue
            if op == "raise":
                raise _raised(reply)
            if op != "return":
                self._end("protocol", f"unexpected {op!r} during a call")
            try:
                values = [decode_value(v) for v in reply["values"]]
                after = [decode_value(v) for v in reply.get("args", [])] if return_args else []
            except Unsupported as exc:
                raise StudentCodeError(f"{fn} returned {exc}", kind="value") from None
            if len(values) != repeat:
                self._end("protocol", "the sandbox returned the wrong number of values")
            return CallResult(values, after)

    def _ask(self, request: dict, doing: str, cause: str = ENDLESS_LOOP):
        """Send one request about a policy and wait for its one value; the student's exception is raised as
        StudentCodeError. Also while the sandbox waits for an environment's answer (an evaluation at an episode
        boundary, training paused)."""
        self._check_alive()
        self._send(request)
        limit = self.request_timeout
        reply = self._receive(self._deadline_in(limit), TimedOut(doing, limit, cause))
        if reply["op"] == "raise":
            raise _raised(reply)
        if reply["op"] != "return" or len(reply["values"]) != 1:
            self._end("protocol", f"the sandbox answered a {request['op']!r} request with something else")
        return reply["values"][0]

    def _malformed(self, what: str) -> NoReturn:
        self._end("protocol", f"the sandbox answered {what} with something else")

    def act(self, obs, *, policy, inference=False):
        """What ``policy`` (a network in the sandbox) outputs for ``obs`` (a float32 tensor there, under
        no_grad), as data: an array, or a list of arrays for a network that returns a tuple. The trusted side
        chooses the action from it. With ``inference``, in eval() mode for that one pass."""
        value = self._ask({"op": "act", "policy": policy, "obs": encode_value(obs), "inference": inference},
                          "Choosing one action in an evaluation episode",
                          "Your network's forward pass must return at once for one state; look for a loop in it.")
        return self._output(value)

    @staticmethod
    def _output(value):
        """A network's output as ``act`` returns it."""
        try:
            if isinstance(value, dict) and "numbers" in value:  # plain numbers: the common case, decoded fast
                return numbers(value)
            return decode_value(value)
        except Unsupported as exc:
            raise StudentCodeError(f"the network's output is {exc}", kind="value") from None

    def act_each(self, observations: list, *, policy, inference=False) -> list:
        """``act`` for each of ``observations`` (lists of floats), in one round trip: the same forward passes,
        one per observation, and the same outputs. At most ACT_EACH observations: an answer of plain numbers
        stays under MAX_IN, and any other output is asked for alone."""
        if not 0 < len(observations) <= ACT_EACH:
            raise ValueError(f"act_each takes 1 to {ACT_EACH} observations")
        values = self._ask({"op": "act", "policy": policy, "each": observations, "inference": inference},
                           "Choosing actions in evaluation episodes",
                           "Your network's forward pass must return at once for one state; look for a loop in it.")
        if not isinstance(values, list) or len(values) != len(observations):
            self._malformed("a request for actions")
        # An output that is not plain numbers (too large, not finite, not tensors) comes alone, as act's does.
        return [self.act(obs, policy=policy, inference=inference) if value is None else self._output(value)
                for obs, value in zip(observations, values, strict=True)]

    def reinit(self, policy, *, draw: int) -> tuple[int, int]:
        """Keep, as ``_untrained_policy``, a copy of ``policy`` with its parameters initialised afresh under the
        seed ``draw``; returns (parameters in all, parameters initialised afresh). Raises StudentCodeError when
        the policy cannot be found or copied."""
        value = self._ask({"op": "reinit", "policy": policy, "draw": int(draw)}, "Copying your network")
        if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
            self._malformed("a copy request")
        return value[0], value[1]

    def inspect(self, policy) -> tuple[int, float | None, int, "Tampering"]:
        """(number of parameters, a fingerprint of their values, how many of its trainable values an optimiser
        stepped, what changed them besides optimiser steps) of ``policy``: whether training changed it, and
        trained it. Raises StudentCodeError when the policy cannot be found."""
        value = self._ask({"op": "inspect", "policy": policy}, "Reading your network's parameters")
        if not (isinstance(value, list) and len(value) == 4 and type(value[0]) is int and type(value[2]) is int
                and (value[1] is None or isinstance(value[1], (int, float)))):
            self._malformed("a parameter request")
        return value[0], value[1], value[2], self._tampering(value[3])

    def parameters(self, policy="stepped") -> tuple[int, list[np.ndarray], "Tampering"]:
        """(optimiser steps, the parameters' values as arrays in order, what changed them besides optimiser steps):
        of the network the busiest optimiser stepped (``"stepped"``; steps 0 and no arrays before any step), or
        of a named network."""
        value = self._ask({"op": "params", "policy": policy}, "Reading your network's parameters")
        if not (isinstance(value, list) and len(value) == 3 and type(value[0]) is int and isinstance(value[1], list)):
            self._malformed("a parameter request")
        try:
            arrays = [decode_value(v) for v in value[1]]
        except Unsupported as exc:
            raise StudentCodeError(f"the network's parameters are {exc}", kind="value") from None
        if not all(isinstance(a, np.ndarray) for a in arrays):
            self._malformed("a parameter request")
        return value[0], arrays, self._tampering(value[2])

    def _tampering(self, value) -> "Tampering":
        if not (isinstance(value, list) and len(value) == 4 and all(type(v) is int and v >= 0 for v in value)):
            self._malformed("a parameter request")
        return Tampering(*value)

    def ablate(self, policy, *, draw: int | None) -> int:
        """Shuffle the values within each trainable parameter of ``policy`` in place (seeded by ``draw``), or put
        the trained values back (``draw=None``); returns how many values that was."""
        request = {"op": "ablate", "policy": policy, **({"draw": int(draw)} if draw is not None else {"restore": True})}
        value = self._ask(request, "Shuffling your network's parameters")
        if type(value) is not int:
            self._malformed("a shuffle request")
        return value

    def track(self) -> None:
        """From now on the sandbox records every optimiser step (for ``parameters`` and ``inspect``)."""
        self._ask({"op": "track"}, "Starting to track the optimiser")

    def exec(self, code, *, inputs, outputs, imports="", line=1, no_grad=False, repeat=1, timeout=None,
             with_module=False, name=""):
        """Run ``code`` (a statement of the student's, from ``line`` of their file) after ``imports`` in a
        fresh namespace of ``inputs`` (under ``torch.no_grad()`` if asked); that namespace starts from the
        loaded module's names when ``with_module``, else empty.

        Returns one dict of ``outputs`` per repetition. Raises StudentCodeError or SessionEnded as ``call``.
        """
        self._check_alive()
        self._send({"op": "exec", "code": code, "imports": imports, "line": line, "no_grad": no_grad,
                    "inputs": encode_value(inputs), "outputs": outputs, "repeat": repeat,
                    "with_module": with_module, **({"name": name} if name else {})})
        limit = timeout or self.request_timeout
        if with_module:
            timed_out = TimedOut("Your code, called by the check on small inputs,", limit)
        else:
            timed_out = TimedOut(f"Your line {line}", limit, "The usual cause is a loop in it that never ends.")
        reply = self._receive(self._deadline_in(limit), timed_out)
        if reply["op"] == "raise":
            raise _raised(reply)
        if reply["op"] != "return" or len(reply["values"]) != repeat:
            self._end("protocol", f"unexpected {reply['op']!r} after running a line")
        try:
            results = [decode_value(v) for v in reply["values"]]
        except Unsupported as exc:
            raise StudentCodeError(f"the line produced {exc}", kind="value") from None
        if not all(isinstance(r, dict) for r in results):
            self._end("protocol", "the sandbox returned a malformed result")
        return results

    def output_tail(self) -> str:
        """What the code printed (the tail). Complete once the session is closed."""
        return self.sandbox.output.tail()

    def close(self):
        """Kill first, then clean up: nothing is sent to a sandbox that may have stopped reading."""
        self.sandbox.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.lifetime_s = time.monotonic() - self.opened_at

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
