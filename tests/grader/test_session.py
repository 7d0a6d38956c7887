"""The trusted side's validation of what comes out of a sandbox (no sandbox needed)."""
import numpy as np
import pytest

from grader.codec import Unsupported, decode_value
from grader.errors import SessionEnded
from grader.session import validate
from sandbox.runner import framing


def test_a_well_formed_return_is_accepted():
    assert validate({"op": "return", "values": [1]})["values"] == [1]


@pytest.mark.parametrize("message", [
    {"op": "score", "value": 100},
    {"op": "return", "values": "not a list"},
    {"op": "raise", "kind": "call"},
    {"values": [1]},
    {"op": ["return"], "values": []},
])
def test_anything_else_ends_the_session_as_a_protocol_violation(message):
    with pytest.raises(SessionEnded) as info:
        validate(message)
    assert info.value.verdict == "protocol"


def test_arrays_decode_to_numpy():
    value = decode_value({"$nd": {"dtype": "float64", "shape": [2, 2], "data": [1, 2, 3, 4]}})
    assert isinstance(value, np.ndarray)
    assert value.shape == (2, 2)
    assert value[1, 1] == 4


@pytest.mark.parametrize("value, message", [
    ({"$nd": {"dtype": "object", "shape": [1], "data": [1]}}, "dtype"),
    ({"$nd": {"dtype": "float64", "shape": [3], "data": [1, 2]}}, "shape"),
    ({"$nd": {"dtype": "float64", "shape": [1], "data": ["x"]}}, "not numbers"),
    ({"$nd_nonfinite": [2]}, "NaN"),
    ({"$unsupported": "function"}, "function"),
    ({"$float": "1e999999"}, "unexpected"),
])
def test_values_that_cannot_be_checked_are_refused(value, message):
    with pytest.raises(Unsupported, match=message):
        decode_value(value)


@pytest.mark.parametrize("value, message", [
    ({"$nd": {"dtype": "float32", "shape": [2**40, 2**40], "data": []}}, "shape"),
    ({"$nd": {"dtype": "float32", "shape": [2**62, 2**62], "data": [1]}}, "shape"),
    ({"$nd": {"dtype": "float32", "shape": [1] * 65, "data": [1]}}, "65 dimensions"),
    ({"$nd": {"dtype": "int8", "shape": [1], "data": [1000]}}, "range of int8"),
    ({"$nd": {"dtype": "int64", "shape": [1], "data": [2**70]}}, "range of int64"),
    ({"$nd": {"dtype": "float32", "shape": ["2"], "data": [1, 2]}}, "malformed"),
    ({"$nd": {"dtype": "float32", "shape": [True], "data": [1]}}, "malformed"),
    ({"$nd": [1, 2]}, "malformed"),
    ({"$tensor_out": [1, 2]}, "malformed tensor"),
    ({"$tensor_out": "x"}, "malformed tensor"),
    ({"$tensor_out": {"value": {"$nd": {"dtype": "uint8", "shape": [1], "data": [-1]}}}}, "range of uint8"),
])
def test_forged_arrays_are_refused_with_words(value, message):
    """Forged arrays from inside end as Unsupported (feedback for the student), never as another exception."""
    with pytest.raises(Unsupported, match=message):
        decode_value(value)


def test_deep_nesting_is_refused():
    value = 1
    for _ in range(100):
        value = [value]
    with pytest.raises(Unsupported, match="deeply"):
        decode_value(value)


def test_frames_refuse_nan_oversize_and_non_objects():
    with pytest.raises(ValueError):
        framing.encode({"x": float("nan")}, max_bytes=100)
    with pytest.raises(framing.FrameError, match="exceeds"):
        framing.encode({"x": "y" * 200}, max_bytes=100)
    with pytest.raises(framing.FrameError, match="not allowed"):
        framing.decode_body(b'{"x": NaN}')
    with pytest.raises(framing.FrameError, match="object"):
        framing.decode_body(b"[1, 2]")


def test_a_frame_longer_than_the_limit_is_refused_before_reading_it():
    data = framing.HEADER.pack(10**9)
    with pytest.raises(framing.FrameError, match="exceeds"):
        framing.read_frame(lambda n: data[:n], max_bytes=1000)
