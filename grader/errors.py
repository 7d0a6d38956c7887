"""The project's exceptions. Each carries a message a person can act on."""


class BellmanError(Exception):
    """Base of every error Bellman raises on purpose."""


class SubmissionRejected(BellmanError):
    """The file cannot be graded as it is (wrong type, empty, too large, not UTF-8, broken notebook)."""


class StudentCodeError(BellmanError):
    """The student's code raised, or returned something that cannot be checked."""

    def __init__(self, message, *, kind="call", exc_type="", traceback=""):
        super().__init__(message)
        self.kind = kind
        self.exc_type = exc_type
        self.traceback = traceback


class SessionEnded(BellmanError):
    """The sandbox session is over: timed out, killed for a limit, or broke the protocol.

    ``verdict`` is a stable short code (timeout, stalled, memory, output, protocol, crashed, environment).
    """

    def __init__(self, message, *, verdict):
        super().__init__(message)
        self.verdict = verdict


class RunProblem(BellmanError):
    """A training run finished, but what it produced cannot be evaluated; the message is for the student."""


class InfrastructureError(BellmanError):
    """A fault of the grading machine, not of the submission; grading is retried."""


class AssignmentError(BellmanError):
    """An assignment folder is incomplete or inconsistent."""


class EnvMismatch(BellmanError):
    """A mirrored environment's report of its steps does not match the real environment."""
