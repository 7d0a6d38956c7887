"""The values of the sandbox protocol, on the trusted side: what goes in (numpy arrays, tensors, generators, a
known network, a fake environment: ``encode_value`` and the builders), and what comes out, decoded into plain
Python and numpy data by ``decode_value`` (anything it cannot take is ``Unsupported``, never another exception).
The tags are defined once, in sandbox/runner/wire.py, which the runner imports too.
"""
import math
from dataclasses import dataclass

import numpy as np

from sandbox.runner import wire

MAX_ARRAY = 1_000_000  # elements
ALLOWED_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64",
                  "uint8", "bool"}


class Unsupported(ValueError):
    pass


class TensorValue:
    """A torch tensor that came out of the sandbox: its values, and whether it carries gradients."""

    def __init__(self, array, requires_grad):
        self.array = np.asarray(array)
        self.requires_grad = requires_grad

    def __repr__(self):
        return f"tensor({self.array.tolist()!r})"


MAX_DIMS = 32


def decode_value(value):
    """Turn a value from inside into plain Python and numpy data, or raise Unsupported.

    Whatever arrives (an array whose shape is huge or has more dimensions than numpy allows, integers out
    of its dtype's range, a field of the wrong type) ends as Unsupported with words for the student,
    never as another exception."""
    try:
        return _decode(value, 0)
    except Unsupported:
        raise
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError, MemoryError, RecursionError):
        raise Unsupported("a malformed value") from None


def _decode(value, depth):
    if depth > 32:
        raise Unsupported("the value is nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if wire.ND in value:
            return _decode_array(value[wire.ND])
        if wire.FLOAT in value:
            return float(value[wire.FLOAT]) if value[wire.FLOAT] in ("nan", "inf", "-inf") else _bad("float")
        if wire.ND_NONFINITE in value:
            raise Unsupported("the array contains NaN or infinite values")
        if wire.TENSOR_OUT in value:
            inner = value[wire.TENSOR_OUT]
            if not isinstance(inner, dict):
                raise Unsupported("a malformed tensor")
            return TensorValue(_decode(inner.get("value"), depth + 1), bool(inner.get("requires_grad")))
        if wire.UNSUPPORTED in value:
            raise Unsupported(f"a value of type {str(value[wire.UNSUPPORTED])[:60]} cannot be checked")
        return {str(k): _decode(v, depth + 1) for k, v in value.items()}
    return _bad(type(value).__name__)


def _bad(what):
    raise Unsupported(f"unexpected value ({what})")


def _decode_array(nd):
    if not isinstance(nd, dict):
        raise Unsupported("a malformed array")
    dtype, shape, data = nd.get("dtype"), nd.get("shape"), nd.get("data")
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise Unsupported(f"an array of dtype {str(dtype)[:20]} cannot be checked")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise Unsupported("a malformed array")
    if not isinstance(data, list) or len(data) > MAX_ARRAY:
        raise Unsupported(f"an array of more than {MAX_ARRAY:,} values cannot be checked")
    if len(shape) > MAX_DIMS:
        raise Unsupported(f"an array of {len(shape)} dimensions cannot be checked (at most {MAX_DIMS})")
    if any(s < 0 for s in shape) or math.prod(shape) != len(data):  # exact integers: no overflow
        raise Unsupported("an array whose shape does not match its data")
    if not all(isinstance(x, (int, float, bool)) for x in data):
        raise Unsupported("an array with values that are not numbers")
    try:
        array = np.array(data, dtype=dtype)
    except (OverflowError, ValueError):
        raise Unsupported(f"an array with values out of the range of {dtype}") from None
    return array.reshape(shape)


def encode_value(value):
    """Values sent into the sandbox: JSON plus numpy arrays."""
    if isinstance(value, np.ndarray):
        return wire.array(str(value.dtype), list(value.shape), value.ravel().tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    return value


def tensor_arg(array, *, grad=False, dtype="float32") -> dict:
    """An argument that becomes a torch tensor inside the sandbox."""
    array = np.asarray(array)
    return wire.tagged(wire.TENSOR, {"dtype": dtype, "shape": list(array.shape), "data": array.ravel().tolist(),
                                     "grad": grad})


def rng_arg(seed: int) -> dict:
    """An argument that becomes ``numpy.random.default_rng(seed)`` inside the sandbox."""
    return wire.tagged(wire.RNG, int(seed))


@dataclass(frozen=True)
class Tampering:
    """What changed a network's parameters besides optimiser steps, as the sandbox counted it."""

    steps: int  # optimiser steps that found the parameters changed since the trusted side or a step last saw them
    unseen: int  # values first seen at their first step (a network the trusted side never saw before training)
    after_training: int = 0  # optimiser steps since the sandbox's last message to the environment
    after_episode: int = 0  # the most optimiser steps training took between an episode's end and the next reset




def mlp_arg(layers: list) -> dict:
    """A ``torch.nn.Sequential`` of Linear layers with the given weights, built in the sandbox: ``layers`` is
    ``[[weight rows, bias], ...]`` with ReLU between them."""
    return wire.tagged(wire.MLP, layers)


def fake_env_arg(*, n_actions: int, seed: int, step: list) -> dict:
    """An environment built in the sandbox with ``n_actions`` discrete actions (its action_space seeded by ``seed``)
    whose ``step`` returns ``step`` (obs, reward, terminated, truncated, info) and records the actions it got."""
    return wire.tagged(wire.FAKE_ENV, {"n_actions": n_actions, "seed": seed, "step": step})


def numbers(value: dict):
    """A network's output sent as plain numbers by the runner's ``act`` (``{"numbers": [one per tensor], "tuple"}``):
    an array of floats, or a list of them for a tuple. Anything malformed is Unsupported."""
    items, is_tuple = value.get("numbers"), value.get("tuple")
    if not isinstance(items, list) or not items or not isinstance(is_tuple, bool) or (not is_tuple and len(items) != 1):
        raise Unsupported("a malformed output")
    arrays = []
    for item in items:
        try:
            array = np.asarray(item, dtype=float)
        except (ValueError, TypeError, OverflowError):
            raise Unsupported("a malformed output") from None
        if array.size > MAX_ARRAY or array.ndim > MAX_DIMS:
            raise Unsupported("an output too large to check")
        arrays.append(array)
    return arrays if is_tuple else arrays[0]
