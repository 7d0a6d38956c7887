"""Length-prefixed JSON frames: the only thing that crosses the sandbox boundary.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
Standard library only: this file runs inside the sandbox as well as in the worker.
"""
import json
import struct

HEADER = struct.Struct(">I")


class FrameError(Exception):
    """The peer sent something that is not a well-formed frame."""


def encode(message, *, max_bytes):
    """Serialise one message; NaN and infinities are not JSON and are refused."""
    body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if len(body) > max_bytes:
        raise FrameError(f"message of {len(body)} bytes exceeds the limit of {max_bytes}")
    return HEADER.pack(len(body)) + body


def _refuse_constant(name):
    raise FrameError(f"{name} is not allowed in a message")


def decode_body(body):
    """Parse a frame body strictly: UTF-8, plain JSON, an object at the top."""
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"not a JSON message: {exc.__class__.__name__}") from None
    if not isinstance(message, dict):
        raise FrameError("a message must be a JSON object")
    return message


def read_frame(read_exact, *, max_bytes):
    """Read one frame with ``read_exact(n) -> bytes``; None at a clean end of stream."""
    header = read_exact(HEADER.size)
    if not header:
        return None
    if len(header) != HEADER.size:
        raise FrameError("stream ended inside a frame header")
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise FrameError(f"frame of {length} bytes exceeds the limit of {max_bytes}")
    body = read_exact(length)
    if len(body) != length:
        raise FrameError("stream ended inside a frame")
    return decode_body(body)
