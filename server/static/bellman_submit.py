#!/usr/bin/env python3
"""bellman-submit: submit a file to a Bellman assignment from a terminal, wait, and print the result.

    python bellman_submit.py --server https://bellman.example.edu --token TOKEN COURSE/ASSIGNMENT FILE

The token may come from the environment (BELLMAN_TOKEN) instead of the command line, where other users
of the machine can see it; so may the server (BELLMAN_SERVER). Without either, the token is asked for.
Create a token on your account page, or with the "Submit from your notebook" button of an assignment.

Exit status: 0 when the submission was graded (whatever the score), 1 when the server refused it or
could not grade it (its message is printed), 2 for a usage error, 3 when it was still being graded as
the client stopped waiting (--timeout, or Ctrl-C): it is graded all the same, see its results page.

Standard library only, Python 3.8 or newer. The notebook cell that the assignment page offers is the
part of this file between the two "notebook cell" markers, followed by one call of submit_notebook().
"""
# >>> notebook cell: the code below, up to the closing marker, is also the notebook cell's
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

CLIENT_VERSION = "1"
CELL_MARKER = "# bellman-submit cell"
GRADED, ERROR = "graded", "error"
# What to do about each of the server's error codes, after the message the server sent ({tokens}: the
# account page's address, where tokens are created and revoked).
ADVICE = {
    "token_invalid": "The token was not recognised: copy it again, or create a new one at {tokens}",
    "token_revoked": "This token was revoked: create a new one at {tokens} (or with the \"Submit from "
                     "your notebook\" button of the assignment page).",
    "not_authenticated": "No token was sent: pass --token or set BELLMAN_TOKEN (create one at {tokens}).",
    "too_large": "Submit only your code: clear the notebook's outputs or remove large data from the file.",
    "bad_file": "Check that you submit your .py file or .ipynb notebook, saved as UTF-8.",
    "bad_request": "The server could not read the request: download the latest bellman_submit.py from the site.",
    "not_found": "Check the course and assignment names: they are the last two parts of the assignment "
                 "page's address (/c/COURSE/ASSIGNMENT/).",
    "forbidden": "Check that the token is yours and that you are enrolled in this course.",
    "closed": "The assignment takes no submissions now: see its page for the dates.",
}
PHASES = {"units": "running the unit checks", "training_queued": "unit checks done, waiting for a trainer",
          "training": "training your agent on the grader's environments"}


class BellmanError(Exception):
    """A refusal or failure with a message a person can act on. ``code``: the server's error code,
    or "network" / "http" / "bad_response"; ``retry_after``: seconds, when the server gave them."""

    def __init__(self, message, code="", status=0, retry_after=None):
        super().__init__(message)
        self.code, self.status, self.retry_after = code, status, retry_after


class StillGrading(Exception):
    """Stopped waiting (timeout or Ctrl-C) while the submission was still being graded."""

    def __init__(self, submission):
        super().__init__("still being graded")
        self.submission = submission


def _retry_after(value):
    """Seconds from a Retry-After header (a number of seconds, or an HTTP date); None when absent."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _error_from(exc):
    """A BellmanError from an HTTPError, with the server's ``{"code", "message"}`` when it sent one."""
    try:
        body = json.loads(exc.read().decode("utf-8", "replace"))
    except (ValueError, OSError):
        body = None
    code = message = ""
    if isinstance(body, dict):
        code = str(body.get("code") or "")
        message = body.get("message") or body.get("detail") or ""
        if not isinstance(message, str):
            message = json.dumps(message)
    if not message:
        message = f"The server answered HTTP {exc.code} ({exc.reason})."
    if not code:
        code = {401: "not_authenticated", 404: "not_found", 413: "too_large"}.get(exc.code, "http")
    return BellmanError(message, code=code, status=exc.code, retry_after=_retry_after(exc.headers.get("Retry-After")))


def api_request(url, token, data=None, content_type=None, timeout=60):
    """The JSON that ``url`` answers, GET or (with ``data``) POST; BellmanError for anything else."""
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json",
               "User-Agent": "bellman-submit/{} (Python {}.{})".format(CLIENT_VERSION, *sys.version_info[:2])}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise _error_from(exc) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BellmanError(f"Could not reach {urllib.parse.urlsplit(url).netloc}: {reason}. "
                           "Check the server's address and your network.", code="network") from None
    try:
        return json.loads(text)
    except ValueError:
        raise BellmanError(f"The server's answer was not JSON: is {urllib.parse.urlsplit(url).netloc} "
                           "a Bellman server?", code="bad_response") from None


def multipart(filename, data):
    """A multipart/form-data body with one file field, ``file``; returns (body, content type)."""
    boundary = "bellman-" + uuid.uuid4().hex
    safe = "".join(c for c in os.path.basename(filename) if c not in '"\\\r\n') or "submission"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n")
    body = head.encode("utf-8") + data + f"\r\n--{boundary}--\r\n".encode("ascii")
    return body, "multipart/form-data; boundary=" + boundary


def upload(submit_url, token, filename, data):
    """POST the file to an assignment's submissions URL; returns the new submission (JSON)."""
    body, content_type = multipart(filename, data)
    return api_request(submit_url, token, data=body, content_type=content_type)


def wait(submission, base_url, token, timeout=900, say=print, sleep=None, clock=None):
    """Poll the submission until it is graded or in error and return its last state; raise StillGrading
    at ``timeout`` seconds or on Ctrl-C. Waits longer between polls as time passes, as long as the
    server asks on a 429, and through a server that is briefly unreachable."""
    url = urllib.parse.urljoin(base_url, submission.get("api_url") or "/api/v1/submissions/{}".format(submission["id"]))
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    deadline, delay, shown = clock() + timeout, 1.0, None
    try:
        while True:
            pause = delay
            try:
                submission = api_request(url, token)
            except BellmanError as exc:
                if exc.status != 429 and exc.code != "network" and exc.status < 500:
                    raise
                pause = exc.retry_after if exc.retry_after is not None else delay
            else:
                if submission.get("status") in (GRADED, ERROR):
                    return submission
                state = PHASES.get(submission.get("phase") or "") or {
                    "running": "running"}.get(submission.get("status"), "waiting for a grader")
                position = (submission.get("queue") or {}).get("position")
                if position and submission.get("status") != "running":
                    state += f" (number {position} in the queue)"
                if state != shown:
                    say(f"... {state}")
                    shown = state
            if clock() + pause > deadline:
                raise StillGrading(submission)
            sleep(pause)
            delay = min(delay * 1.5, 15.0)
    except KeyboardInterrupt:
        raise StillGrading(submission) from None


def _points(value):
    return "-" if value is None else f"{round(float(value), 2):g}"


def _indent(text, prefix="      "):
    return "\n".join(prefix + line for line in str(text).strip().splitlines())


def format_result(submission, base_url):
    """The graded submission as text: score, each check's result and feedback, notices, the link."""
    report = submission.get("report") or {}
    lines = ["Submission #{}: {}".format(submission.get("id"), submission.get("status"))]
    if submission.get("status") == ERROR:
        reason = report.get("error") or submission.get("error") or "no reason was given"
        lines.append(f"The grader could not finish: {reason}")
    lines += _score_lines(submission, report) + _check_lines(report.get("checks") or [])
    if report.get("notices"):
        lines += ["Notices:"] + [f"  - {n}" for n in report["notices"]]
    lines.append("Results page: " + results_url(submission, base_url))
    return "\n".join(lines)


def _score_lines(submission, report):
    def value(key):
        return submission.get(key) if submission.get(key) is not None else report.get(key)

    lines = []
    if value("score") is not None:
        hidden = value("hidden_points")
        lines.append("Score: {} / {}".format(_points(value("score")), _points(value("max_score"))) + (
            f" (+ {_points(hidden)} points of checks shown after the due date)" if hidden else ""))
    if report.get("published") is False:
        lines.append("Your answers await the instructor's review: the scores appear once they are published.")
    return lines


def _check_lines(checks):
    lines = ["Checks:"] if checks else []
    for check in checks:
        lines.append("  {:<7} {:<22} {:>6} / {}".format(str(check.get("status", "")), str(check.get("id", "")),
                                                        _points(check.get("score")), _points(check.get("max_score"))))
        if check.get("feedback"):
            lines.append(_indent(check["feedback"]))
    return lines


def results_url(submission, base_url):
    return urllib.parse.urljoin(base_url, submission.get("url") or "/submissions/{}/".format(submission.get("id")))


def describe_error(exc, base_url):
    """The server's message and what to do about it."""
    lines = [str(exc)]
    if exc.status == 429 and exc.retry_after is not None:
        at = time.time() + exc.retry_after
        when = time.strftime("%H:%M" if time.localtime(at)[:3] == time.localtime()[:3] else "%a %d %b %H:%M",
                             time.localtime(at))
        what = "submit again" if exc.code == "limit_reached" else "try again"
        lines.append(f"You can {what} at {when} your time (in {_duration(exc.retry_after)}).")
    elif exc.code in ADVICE:
        lines.append(ADVICE[exc.code].format(tokens=urllib.parse.urljoin(base_url, "/account/tokens/")))
    elif exc.status >= 500:
        lines.append("The server had a problem; try again in a few minutes.")
    return "\n".join(lines)


def _duration(seconds):
    minutes = int(seconds + 59) // 60
    if minutes < 2:
        return f"{int(seconds + 0.999):d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def submit(submit_url, token, filename, data, timeout=900, say=print):
    """Upload, wait and print the result; returns the exit status (0 graded, 1 refused or in error,
    3 still being graded when the wait stopped)."""
    try:
        submission = upload(submit_url, token, filename, data)
    except BellmanError as exc:
        say("Not submitted: " + describe_error(exc, submit_url))
        return 1
    except KeyboardInterrupt:
        say("Interrupted while uploading: the file may or may not have been submitted; see the assignment page.")
        return 3
    say("Submitted {} as #{}; waiting for the grader (Ctrl-C stops waiting, not the grading).".format(
        filename, submission.get("id")))
    try:
        submission = wait(submission, submit_url, token, timeout=timeout, say=say)
    except StillGrading as exc:
        say("Stopped waiting: submission #{} is still being graded. Its results will be at {}".format(
            exc.submission.get("id"), results_url(exc.submission, submit_url)))
        return 3
    except BellmanError as exc:
        say("Submitted, but its state could not be read: " + describe_error(exc, submit_url))
        say("Its results will be at " + results_url(submission, submit_url))
        return 1
    say(format_result(submission, submit_url))
    return 0 if submission.get("status") == GRADED else 1


# -- notebooks: the current notebook, in Colab, Jupyter or VS Code ---------------------------------------
class NotebookNotFound(Exception):
    """The notebook's saved file cannot be found, or does not hold the cell being run."""


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _colab_notebook():
    """The notebook as Colab holds it now (unsaved edits included), or None outside Colab."""
    try:
        from google.colab import _message
    except ImportError:
        return None
    notebook = _message.blocking_request("get_ipynb", timeout_sec=30)
    if not notebook or "ipynb" not in notebook:
        raise NotebookNotFound("Colab did not hand over the notebook: save it (File > Save) and run this cell again.")
    name = (notebook["ipynb"].get("metadata", {}).get("colab", {}) or {}).get("name") or "notebook.ipynb"
    return name, notebook["ipynb"]


def _notebook_path(shell):
    """The saved notebook's path: VS Code names it in the namespace, Jupyter Server in JPY_SESSION_NAME."""
    namespace = getattr(shell, "user_ns", {}) or {}
    for path in (namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if not path or not str(path).endswith(".ipynb"):
            continue
        for candidate in (path, os.path.join(os.getcwd(), os.path.basename(path))):
            if os.path.isfile(candidate):
                return candidate
    return None


def _saved_notebook(shell):
    """The notebook as saved on disk; NotebookNotFound when there is no file, or when the file does
    not hold the cell being run (changes not saved yet)."""
    path = _notebook_path(shell)
    if path is None:
        raise NotebookNotFound(
            "This notebook's file was not found: save the notebook (File > Save, or Ctrl+S) and run this "
            "cell again. If you renamed or moved it, restart the kernel first. If it is saved and this "
            "persists, download it (File > Download) and upload it on the assignment page.")
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    history = getattr(shell, "user_ns", {}).get("_ih") or getattr(shell, "user_ns", {}).get("In") or []
    running = history[-1].strip() if history else ""
    if running and not any(_source(c).strip() == running for c in notebook.get("cells", [])):
        raise NotebookNotFound(
            f"The saved file ({os.path.basename(path)}) does not hold this cell yet, so it misses your latest "
            "changes: save the notebook (File > Save, or Ctrl+S) and run this cell again. Nothing was submitted.")
    return os.path.basename(path), notebook


def notebook_for_upload(notebook, token):
    """The notebook as uploaded: without this cell (nor its token anywhere) and without outputs,
    which the grader does not read and which can be large."""
    cells = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            if _source(cell).lstrip().startswith(CELL_MARKER):
                continue
            cell = dict(cell, outputs=[], execution_count=None)
        cells.append(cell)
    text = json.dumps(dict(notebook, cells=cells), indent=1, ensure_ascii=False)
    if token:
        text = text.replace(token, "<token removed>")
    return text.encode("utf-8")


def submit_notebook(submit_url, token="", timeout=900):
    """Submit the notebook this cell runs in and print the result (the notebook cell's entry point)."""
    token = token or os.environ.get("BELLMAN_TOKEN", "")
    if not token:
        import getpass

        token = getpass.getpass("Your Bellman token: ").strip()
    try:
        found = _colab_notebook() or _saved_notebook(_ipython())
    except NotebookNotFound as exc:
        print(exc)
        return
    filename, notebook = found
    if not filename.endswith(".ipynb"):
        filename += ".ipynb"
    submit(submit_url, token, filename, notebook_for_upload(notebook, token), timeout=timeout)

# <<< notebook cell


def submit_url_for(server, assignment):
    course, _, slug = assignment.strip("/").partition("/")
    quote = urllib.parse.quote
    return "{}/api/v1/courses/{}/assignments/{}/submissions".format(
        server.rstrip("/"), quote(course, safe=""), quote(slug, safe=""))


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="bellman-submit", description="Submit a file to a Bellman assignment "
                                     "and print its graded result.")
    parser.add_argument("assignment", metavar="COURSE/ASSIGNMENT", help="as in the assignment page's address")
    parser.add_argument("file", help="your .py file (or .ipynb notebook)")
    parser.add_argument("--server", default=os.environ.get("BELLMAN_SERVER", ""),
                        help="the site's address, e.g. https://bellman.example.edu (default: $BELLMAN_SERVER)")
    parser.add_argument("--token", default=os.environ.get("BELLMAN_TOKEN", ""),
                        help="your personal token (default: $BELLMAN_TOKEN; asked for when neither is set)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds to wait for the result (default 900); the grading goes on after it")
    args = parser.parse_args(argv)
    if args.assignment.strip("/").count("/") != 1:
        parser.error("name the assignment as COURSE/ASSIGNMENT, e.g. rl/qlearning-cliffwalking")
    if not args.server:
        parser.error("no server: pass --server URL or set BELLMAN_SERVER")
    if urllib.parse.urlsplit(args.server).scheme not in ("http", "https"):
        parser.error("the server's address must start with https:// (or http://)")
    try:
        with open(args.file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        parser.error(f"cannot read {args.file}: {exc.strerror}")
    token = args.token
    if not token and sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Your Bellman token: ").strip()
    if not token:
        parser.error("no token: pass --token or set BELLMAN_TOKEN (create one on your account page)")
    return submit(submit_url_for(args.server, args.assignment), token, os.path.basename(args.file), data,
                  timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
