"""The clients students submit with outside the browser: the terminal client (one standard-library file,
server/static/bellman_submit.py, downloadable from the site) and the notebook cell, which is that file's
shared part followed by one call, so that uploading, waiting and printing have one implementation."""
import textwrap
from functools import cache
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

CLIENT = Path(__file__).resolve().parent.parent / "static" / "bellman_submit.py"
CELL_BEGIN, CELL_END = "# >>> notebook cell", "# <<< notebook cell"


@cache
def client_source() -> str:
    return CLIENT.read_text(encoding="utf-8")


def _cell_code() -> str:
    source = client_source()
    begin = source.index(CELL_BEGIN)
    begin = source.index("\n", begin) + 1
    return source[begin:source.index(CELL_END)].strip() + "\n"


def submit_url(assignment) -> str:
    """The absolute API address that takes submissions to ``assignment`` (BELLMAN_BASE_URL, as e-mails)."""
    return "{}/api/v1/courses/{}/assignments/{}/submissions".format(
        settings.BELLMAN_BASE_URL.rstrip("/"), quote(assignment.course.slug), quote(assignment.slug))


def notebook_cell(assignment, *, token: str = "") -> str:
    """The cell a student pastes at the end of a notebook to submit it to ``assignment``. With a token it
    is in the cell; without, the cell takes BELLMAN_TOKEN from the environment or asks for it."""
    name = f"{assignment.course.slug}/{assignment.slug}"
    head = [
        f"# bellman-submit cell: submits this notebook to {name} and prints the result.",
        "# Save the notebook first (Ctrl+S), then run this cell. This cell and its token are left out of",
        "# what is uploaded. Standard library only; from the course site's bellman_submit.py.",
        f"BELLMAN_SUBMIT_URL = {submit_url(assignment)!r}",
    ]
    if token:
        head += ["# Your personal token: whoever sees it can submit as you. Revoke it on the site's",
                 "# API tokens page if this notebook is shared with the cell in it.",
                 f"BELLMAN_TOKEN = {token!r}"]
    else:
        head += ["BELLMAN_TOKEN = \"\"  # paste your token here, or set BELLMAN_TOKEN in the environment"]
    # Inside a function, so that the client's imports and helpers (time, json, submit, ...) never replace
    # the student's own names in the notebook.
    body = textwrap.indent(_cell_code() + "\nsubmit_notebook(submit_url, token)\n", "    ")
    return ("\n".join(head) + "\n\n\ndef _bellman_submit(submit_url, token):\n" + body
            + "\n\n_bellman_submit(BELLMAN_SUBMIT_URL, BELLMAN_TOKEN)\n")


def terminal_command(assignment) -> str:
    """The terminal client's command line for ``assignment``, the token taken from BELLMAN_TOKEN."""
    return (f"python bellman_submit.py --server {settings.BELLMAN_BASE_URL.rstrip('/')} "
            f"{assignment.course.slug}/{assignment.slug} solution.py")
