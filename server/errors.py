"""The server's refusals: a request the course's rules or the data refuse, with words for the person who made it.
They belong to the project's error hierarchy (grader.errors.BellmanError), apart from Python's own errors: a
ValueError from a bug is never mistaken for one of them."""
from grader.errors import BellmanError


class Refused(BellmanError):
    """What the person asked for cannot be done as asked; the message says why (and what to do)."""
