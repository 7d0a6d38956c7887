"""The sandbox protocol's values: the one definition of the tags that mark what is not plain JSON.

Standard library only: this file runs inside the sandbox (staged beside runner.py and framing.py) as well as in the
worker, so that both sides name each tag the same way. A tagged value is a one-key object ``{TAG: payload}``.

Into the sandbox (built there from data):
    ND        a numpy array       {"dtype", "shape", "data"}
    TENSOR    a torch tensor      {"dtype", "shape", "data", "grad"}
    RNG       numpy.random.default_rng(seed)
    MLP       a small torch network of known weights: [[weight rows, bias], ...], ReLU between
    FAKE_ENV  an environment whose step() answers what the trusted side chose: {"n_actions", "seed", "step"}
    ENV       a proxied environment served by the trusted side: {"handle", "id", spaces, ...}

Out of the sandbox (data only; nothing is ever unpickled or evaluated):
    ND            an array (as above)
    ND_NONFINITE  an array with NaN or infinite values: its shape only
    FLOAT         a float that JSON cannot carry: "nan", "inf" or "-inf"
    TENSOR_OUT    a tensor: {"value": <ND or a number>, "requires_grad": bool}
    UNSUPPORTED   anything else: the name of its type
"""
import math

ND = "$nd"
ND_NONFINITE = "$nd_nonfinite"
FLOAT = "$float"
TENSOR = "$tensor"
TENSOR_OUT = "$tensor_out"
RNG = "$rng"
MLP = "$mlp"
FAKE_ENV = "$fake_env"
ENV = "$env"
UNSUPPORTED = "$unsupported"

TAGS = (ND, ND_NONFINITE, FLOAT, TENSOR, TENSOR_OUT, RNG, MLP, FAKE_ENV, ENV, UNSUPPORTED)


def tagged(tag: str, payload) -> dict:
    """``{tag: payload}``, the form of every tagged value."""
    return {tag: payload}


def array(dtype: str, shape: list, data: list) -> dict:
    """An array as it travels: its dtype's name, its shape and its values flattened."""
    return {ND: {"dtype": dtype, "shape": shape, "data": data}}


def encode(value, depth=0):
    """Plain data only; anything else is described, never serialised by reference."""
    if depth > 20:
        raise ValueError("value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return tagged(FLOAT, repr(value))
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return encode(value.item(), depth + 1)
    if type(value).__name__ == "Tensor":
        return tagged(TENSOR_OUT, {"requires_grad": bool(value.requires_grad), "value": encode(
            value.detach().cpu().numpy(), depth + 1)})
    if type(value).__module__ == "numpy" and hasattr(value, "shape"):
        flat = value.ravel().tolist()
        if value.dtype.kind == "f" and not all(math.isfinite(x) for x in flat):
            return tagged(ND_NONFINITE, list(value.shape))
        return array(str(value.dtype), list(value.shape), flat)
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v, depth + 1) for k, v in value.items()}
    return tagged(UNSUPPORTED, type(value).__name__)
