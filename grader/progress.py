"""Training runs' returns, published while they train: the trusted side records every episode's true
return, and whoever asked (the worker's heartbeat) reads them as they grow."""
import contextvars
import threading
from contextlib import contextmanager

_current: "contextvars.ContextVar[Progress | None]" = contextvars.ContextVar("bellman_progress", default=None)


class Progress:
    """The environment hosts of one grading's training runs, read from another thread."""

    def __init__(self):
        self._hosts = []
        self._lock = threading.Lock()

    def track(self, host) -> None:
        with self._lock:
            self._hosts.append(host)

    def snapshot(self) -> list[dict]:
        """``[{"label": "run i", "episode_returns": [...]}]`` of the runs started so far."""
        with self._lock:
            hosts = list(self._hosts)
        return [{"label": f"run {i + 1}", "episode_returns": [round(float(r), 2) for r in list(h.returns)]}
                for i, h in enumerate(hosts)]


def track(host) -> None:
    """Publish ``host``'s episodes to the grading's progress, if anyone is listening."""
    progress = _current.get()
    if progress is not None:
        progress.track(host)


@contextmanager
def publishing(progress: Progress | None):
    token = _current.set(progress)
    try:
        yield
    finally:
        _current.reset(token)
