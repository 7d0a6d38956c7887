"""Sandboxes that run untrusted student code: one interface, two backends (docker, bwrap)."""
from sandbox.backends import available_backends, get_backend
from sandbox.base import Limits, Sandbox, SandboxError, SandboxUnavailable

__all__ = ["Limits", "Sandbox", "SandboxError", "SandboxUnavailable", "available_backends", "get_backend"]
