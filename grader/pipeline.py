"""The grading pipeline: an ordered list of small named steps over one ``Job``.

normalise -> static_checks -> run_checks -> finalise. Each step reads and writes the job;
a step that settles the outcome early sets ``job.done``. Student faults become check
results with feedback; only infrastructure faults escape (as InfrastructureError).
"""
import ast
import contextvars
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from grader import oldgym, progress
from grader.errors import AssignmentError, InfrastructureError, SessionEnded, StudentCodeError, SubmissionRejected
from grader.normalise import in_notebook_terms, to_source
from grader.progress import Progress
from grader.report import ERROR, FAILED, PASSED, Outcome, Report, ScoredCheck
from grader.session import Session
from grader.spec import DEFAULT_SESSION_S, Spec
from sandbox import Limits
from sandbox.bwrap_backend import describe_missing

if TYPE_CHECKING:  # the assignments' kinds import the pipeline (a kind owns its steps)
    from grader.assignments import AssignmentFolder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingConfig:
    """Everything the pipeline needs from configuration, passed in (never read from settings here)."""

    backend: object  # a sandbox backend (sandbox.get_backend)
    max_upload_bytes: int = 1 << 20
    parallel_runs: int = 2
    tmp_root: str | None = None
    output_tail_chars: int = 4000
    progress: Progress | None = None  # what training runs publish their episodes to
    max_budget_s: float | None = None  # the grading stops by then with a result (the task's soft limit, less a margin)
    # Checks whose results students see only after the due date: they run after the others, in sandboxes of their
    # own, and what they print goes to the report's hidden output (nothing they do reaches what a student sees).
    hidden: frozenset = frozenset()


@dataclass
class Job:
    assignment: "AssignmentFolder"
    filename: str
    data: bytes
    config: GradingConfig
    report: Report = field(init=False)  # made by __post_init__
    source: str = ""
    static_failures: dict = field(default_factory=dict)  # check id -> feedback
    outputs: list = field(default_factory=list)
    hidden_outputs: list = field(default_factory=list)  # what sandboxes of hidden checks printed
    timings: dict = field(default_factory=dict)
    done: bool = False
    only: tuple = ()  # check ids to run; all when empty
    answers: dict = field(default_factory=dict)  # written assignments: item id -> text
    deadline: float = float("inf")  # time.monotonic() by which the grading ends with a result

    @property
    def budget_s(self) -> float:
        return time_budget(self.assignment, self.only, self.config)

    def __post_init__(self):
        unknown = set(self.only) - {c.id for c in self.assignment.checks}
        if unknown:
            raise AssignmentError(f"{self.assignment.slug} has no check {', '.join(sorted(unknown))}")
        self.report = Report(assignment=self.assignment.slug, max_score=self.assignment.max_score_of(self.checks))

    @property
    def checks(self):
        return [c for c in self.assignment.checks if not self.only or c.id in self.only]

    def refuse(self, error: str) -> None:
        """The file cannot be graded as it is: the report is an error that says why, and grading stops here."""
        self.report.status = ERROR
        self.report.error = error
        self.done = True


# -- steps ---------------------------------------------------------------------------------------
def normalise(job: Job):
    try:
        job.source, notices = to_source(job.filename, job.data, max_bytes=job.config.max_upload_bytes)
    except SubmissionRejected as exc:
        job.refuse(str(exc))
        return
    job.report.notices.extend(notices)


def static_checks(job: Job):
    try:
        tree = ast.parse(job.source, filename=job.filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = (exc.text or "").rstrip()
        message = f"Your file does not parse ({where}): {exc.msg}." + (f"\n    {text}" if text else "")
        for check in job.assignment.checks:
            job.static_failures[check.id] = message
        return
    if oldgym.imports_gym(tree):
        job.report.notices.append(oldgym.NOTICE)
    defined = _top_level_names(tree)
    for check in job.assignment.checks:
        missing = [name for name in check.requires if name not in defined]
        if missing:
            job.static_failures[check.id] = (
                f"{', '.join(missing)} is not defined at the top level of your file; "
                f"keep the name{'s' if len(missing) > 1 else ''} of the template.")


def _top_level_names(tree: ast.Module) -> set:
    return _names_defined(tree.body)


def _names_defined(nodes: Iterable[ast.AST]) -> set:
    names = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            names |= _names_defined(ast.iter_child_nodes(node))
    return names


def run_checks(job: Job):
    """Every check, in the spec's order, except that hidden checks (``config.hidden``) run after the others in
    sandboxes of their own: a submission cannot tell from what it sees whether a hidden check passed (its
    output, its state, the feedback of a visible check it could otherwise have influenced)."""
    functions = job.assignment.check_functions()
    order = {check.id: i for i, check in enumerate(job.assignment.checks)}
    checks = sorted(job.checks, key=lambda c: (c.id in job.config.hidden, order[c.id]))
    with CheckContext(job) as ctx, progress.publishing(job.config.progress):
        for check in checks:
            if check.id in job.config.hidden and not ctx.hidden:
                ctx.close_shared()  # the visible checks' sandboxes end here, their output the student's
                ctx.hidden = True
            if check.id in job.static_failures:
                outcome = Outcome(0.0, job.static_failures[check.id])
            elif ctx.time_left() < MIN_SESSION_S:
                outcome = Outcome(0.0, out_of_time(job), {"verdict": "budget"})
            else:
                if check.phase == "training":
                    ctx.close_shared()  # the unit checks' sandbox is not needed while the runs train
                outcome = ctx.outcome(getattr(functions, check.id.replace("-", "_")))
            if check.phase == "training" and outcome.fraction < 1.0:
                old_api, mistake = oldgym.learning_feedback(job.source)
                if old_api:
                    outcome.feedback += "\n" + old_api
                    outcome.details.setdefault("mistake", mistake)
            score = round(check.points * outcome.fraction, 2)
            feedback = outcome.feedback
            if job.filename.lower().endswith(".ipynb"):
                feedback = in_notebook_terms(feedback, job.source)
            job.report.add(ScoredCheck(
                id=check.id, status=PASSED if outcome.fraction >= 1.0 else FAILED, score=score,
                max_score=check.points, feedback=feedback, details=outcome.details))
            job.report.curves.extend(outcome.curves)
    job.report.checks.sort(key=lambda c: order[c.id])


def finalise(job: Job):
    tail = "".join(job.outputs)
    job.report.output_tail = tail[-job.config.output_tail_chars:]
    hidden = "".join(job.hidden_outputs)
    job.report.hidden_output_tail = hidden[-job.config.output_tail_chars:]


STEPS = (normalise, static_checks, run_checks, finalise)


def time_budget(assignment: "AssignmentFolder", only, config: GradingConfig) -> float:
    """How long grading ``only`` (all checks when empty) may take: the spec's worst case
    (AssignmentFolder.time_budget), never more than the configuration's ``max_budget_s``."""
    budget = assignment.time_budget(tuple(only), parallel_runs=config.parallel_runs)
    return min(budget, config.max_budget_s) if config.max_budget_s else budget


def out_of_time(job: Job) -> str:
    return (f"Not run: this grading's time budget of {job.budget_s:.0f} s ran out before this check (the checks "
            "before it took it all, running into their time limits; see their feedback).")


def grade(assignment: "AssignmentFolder", filename: str, data: bytes, config: GradingConfig, *, only=()) -> Report:
    """Grade one file for one assignment (only the checks ``only`` names, if given), within the time
    budget of those checks: every sandbox session ends by then, and a check that cannot start says so.

    Raises InfrastructureError only for faults of the machine.
    """
    job = Job(assignment=assignment, filename=filename, data=data, config=config, only=tuple(only))
    job.deadline = time.monotonic() + job.budget_s
    for step in assignment.kind.steps():
        started = time.monotonic()
        step(job)
        job.timings[step.__name__] = round(time.monotonic() - started, 3)
        if job.done:
            break
    job.report.timings = job.timings
    return job.report


# -- what check functions get ----------------------------------------------------------------
DEFAULT_REQUEST_S = 20  # [limits] request_timeout_s when the spec does not set it
MIN_SESSION_S = 5  # a check or a run is not started with less time than this left
# After a grading's deadline, its task has this long to close its sandboxes and store the report before
# the task's soft time limit, and as long again before the hard one.
TASK_GRACE_S = 60


def limits_for(spec: Spec) -> Limits:
    return Limits(**spec.limits.sandbox())


class CheckContext:
    """The trusted side's toolkit for one grading: sandbox sessions, hidden randomness, parallel runs."""

    def __init__(self, job: Job):
        self.job = job
        self.spec = job.assignment.spec
        self.limits = limits_for(self.spec)
        self.request_timeout = float(self.spec.limits.request_timeout_s or DEFAULT_REQUEST_S)
        self.session_timeout = float(self.spec.limits.session_timeout_s or DEFAULT_SESSION_S)
        self.rng = np.random.default_rng(self.spec.check_seed)
        self._shared: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.hidden = False  # running hidden checks: what their sandboxes print is kept apart

    def open_session(self, *, session_timeout: float | None = None, env_host=None,
                     load_timeout: float | None = None, load: bool = True, before_load=None) -> Session:
        """A new sandbox with the student's module loaded (a script with ``env_host`` as its
        environment, for up to ``load_timeout`` seconds), or not loaded at all. The caller closes it.

        The session ends by the grading's deadline whatever it asks for; with too little time left it is
        not started (SessionEnded, verdict ``budget``)."""
        left = self.time_left()
        if left < MIN_SESSION_S:
            raise SessionEnded(out_of_time(self.job), verdict="budget")
        session = Session(self.job.config.backend, self.job.source, self.limits,
                          request_timeout=min(self.request_timeout, left),
                          session_timeout=min(session_timeout or self.session_timeout, left),
                          tmp_root=self.job.config.tmp_root)
        session.last_deadline = self.job.deadline
        if session.sandbox.missing_limits:
            notice = (f"This grading's sandbox ran without {describe_missing(session.sandbox.missing_limits)}: the "
                      "machine allowed it (SANDBOX_ALLOW_MISSING_LIMITS), so only the rlimits held.")
            if notice not in self.job.report.notices:
                self.job.report.notices.append(notice)
        if not load:
            return session
        try:
            if before_load is not None:
                before_load(session)  # e.g. evaluations at the episode boundaries of a script that trains on load
            session.load(cells=self.job.filename.lower().endswith(".ipynb"), env_host=env_host, timeout=load_timeout)
        except BaseException:
            self._collect(session)
            raise
        for error in session.cell_errors:
            notice = (f"When the notebook ran top to bottom, {error}. "
                      "The grader went on with the other cells.")
            if notice not in self.job.report.notices:
                self.job.report.notices.append(notice)
        return session

    @contextmanager
    def running_session(self, **options):
        """``open_session(**options)`` for the length of a ``with`` block; closed and collected after it."""
        session = self.open_session(**options)
        try:
            yield session
        finally:
            self._collect(session)

    def session(self, *, load: bool = True) -> Session:
        """The session shared by unit checks; a fresh one if the last check ended it.

        ``load=False`` gives one where the student's file is not run, for checks that run single
        statements of it (a training script would otherwise train on import).
        """
        key = "loaded" if load else "bare"
        current = self._shared.get(key)
        if current is None or current.ended is not None:
            self._drop_shared(key)
            self._shared[key] = self.open_session(load=load)
        return self._shared[key]

    def time_left(self) -> float:
        return self.job.deadline - time.monotonic()

    def parallel(self, fn, items):
        """``[fn(item) for item in items]``, up to ``parallel_runs`` at a time (each in its own sandbox)."""
        with ThreadPoolExecutor(max_workers=max(1, self.job.config.parallel_runs)) as pool:
            # Each run in a copy of this thread's context (the grading's progress): one context, one thread.
            futures = [pool.submit(contextvars.copy_context().run, fn, item) for item in items]
            return [future.result() for future in futures]

    def _collect(self, session: Session):
        session.close()
        (self.job.hidden_outputs if self.hidden else self.job.outputs).append(session.output_tail())
        with self._lock:  # runs finish in parallel threads
            timings = self.job.timings
            timings["sandboxes"] = timings.get("sandboxes", 0) + 1
            timings["sandbox_s"] = round(timings.get("sandbox_s", 0.0) + session.lifetime_s, 3)
            timings["student_s"] = round(timings.get("student_s", 0.0) + session.busy_s, 3)

    def close_shared(self):
        """Close the sandboxes the unit checks shared (the next unit check opens a fresh one)."""
        self._drop_shared()

    def _drop_shared(self, *keys):
        for key in keys or list(self._shared):
            session = self._shared.pop(key, None)
            if session is not None:
                self._collect(session)

    def outcome(self, function) -> Outcome:
        """Call one check function; the student's failures become a failed Outcome with feedback."""
        try:
            return function(self)
        except StudentCodeError as exc:
            return Outcome(0.0, student_error_feedback(exc))
        except SessionEnded as exc:
            self._drop_shared()
            return Outcome(0.0, f"{exc} The {function.__name__} check could not finish.", {"verdict": exc.verdict})
        except InfrastructureError:
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._drop_shared()


def student_error_feedback(exc: StudentCodeError) -> str:
    if exc.kind == "import":
        head = f"Your file raised an error when it was loaded: {exc}"
    elif exc.kind == "missing":
        head = f"{exc}: keep the function names of the template"
    elif exc.exc_type == "NotImplementedError":
        head = "This part is not implemented yet: it still raises NotImplementedError. Replace the TODO with your code"
    elif exc.kind == "value":
        head = f"{exc}." if not exc.exc_type else f"Your function returned a value that cannot be checked: {exc}"
    else:
        head = f"Your code raised {exc}"
    return head + (f"\n\n{exc.traceback.strip()}" if exc.traceback.strip() else "")
