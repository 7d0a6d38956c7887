"""Running a comparison of an assignment's submissions and keeping what it found.

What is compared: each student's submission that counts (server.courses.grades), a notebook by its code cells;
the assignment's template files are boilerplate. References: the same assignment's submissions that counted in
earlier courses (same slug, due before this one) and the known public solutions an instructor uploaded; both
are compared with this class's students, never with each other, and labelled in every result."""
import hashlib
import logging
import re
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from grader import similarity
from server.celery import send
from server.courses.grades import counting_submission_ids
from server.courses.models import Assignment
from server.similarity.models import Decision, Pair, Reference, Run
from server.submissions.models import Submission

log = logging.getLogger(__name__)
KEEP_BELOW = 0.10    # pairs less similar than this are not stored (the histogram keeps their counts)
MAX_PAIRS = 5000     # the most pairs a run stores, most similar first
HISTOGRAM_BINS = 20
STALE_AFTER = timedelta(minutes=15)  # a run "running" past its task's time limit lost its worker: another may start


def mode(assignment: Assignment) -> str:
    """"code", "exact" or "off" (spec.toml's ``similarity``); written assignments compare their answers
    elsewhere (server.reviews: word 3-grams)."""
    folder = assignment.folder()
    if folder is None or folder.kind.reviewed:
        return "off"
    return folder.spec.similarity


def _source(submission: Submission, kind: str = "student") -> similarity.Source:
    if submission.filename.endswith(".ipynb"):
        try:
            return similarity.source_of(f"s{submission.pk}", submission.filename, bytes(submission.original),
                                        kind=kind)
        except ValueError:
            pass  # what was graded is the code the grader read
    return similarity.Source(key=f"s{submission.pk}", code=submission.source, kind=kind,
                             lines=[f"line {n}" for n in range(1, submission.source.count("\n") + 2)])


def earlier_courses(assignment: Assignment):
    """The same assignment in earlier courses: same slug, due before this one."""
    if assignment.due_at is None:
        return Assignment.objects.none()
    return (Assignment.objects.filter(slug=assignment.slug, due_at__lt=assignment.due_at)
            .exclude(course=assignment.course))


def sources(assignment: Assignment) -> list[similarity.Source]:
    found = [_source(s) for s in Submission.objects.filter(pk__in=counting_submission_ids(assignment))
             .order_by("pk")]
    for earlier in earlier_courses(assignment):
        found += [_source(s, "earlier") for s in Submission.objects.filter(pk__in=counting_submission_ids(earlier))]
    for reference in assignment.similarity_references.order_by("pk"):
        found.append(similarity.Source(key=f"r{reference.pk}", code=reference.code, kind="public",
                                       label=reference.label,
                                       lines=[f"line {n}" for n in range(1, reference.code.count("\n") + 2)]))
    return found


def templates(assignment: Assignment) -> list[str]:
    folder = assignment.folder()
    if folder is None:
        return []
    texts = []
    for path in folder.templates():
        data = path.read_bytes()
        texts.append(similarity.notebook_code(data)[0] if path.suffix == ".ipynb" else data.decode())
    return texts


def _normalised(code: str) -> str:
    return hashlib.sha256(re.sub(r"\s+", "", code).encode()).hexdigest()


def exact_copies(found: list[similarity.Source]) -> list[similarity.Pair]:
    """Pairs whose whole files are the same but for whitespace: information, never a flag."""
    by_digest: dict[str, list] = {}
    for source in found:
        by_digest.setdefault(_normalised(source.code), []).append(source)
    pairs = []
    for group in by_digest.values():
        students = [s for s in group if s.kind == "student"]
        for i, a in enumerate(students):
            for b in students[i + 1:] + [s for s in group if s.kind != "student"]:
                tokens = len(a.code.split())
                pairs.append(similarity.Pair(a, b, 1.0, tokens, tokens, []))
    return pairs


def histogram(pairs: list[similarity.Pair], compared: int) -> list[int]:
    """How many pairs fall in each twentieth of similarity; the pairs sharing nothing count in the first."""
    bins = [0] * HISTOGRAM_BINS
    for pair in pairs:
        bins[min(HISTOGRAM_BINS - 1, int(pair.similarity * HISTOGRAM_BINS))] += 1
    bins[0] += max(0, compared - len(pairs))
    return bins


def execute(run: Run) -> Run:
    """Compare now (the task's body): the run's pairs replace nothing of earlier runs; decisions stay."""
    assignment = run.assignment
    run.state, run.started_at = Run.RUNNING, timezone.now()
    run.save(update_fields=["state", "started_at"])
    how = mode(assignment)
    found = sources(assignment)
    students = sum(s.kind == "student" for s in found)
    references = len(found) - students
    compared = students * (students - 1) // 2 + students * references
    if how == "exact":
        pairs = exact_copies(found)
    elif how == "code":
        pairs = similarity.compare(found, templates(assignment), minimum=KEEP_BELOW)
    else:
        pairs = []
    by_key = {s.key: s for s in found}
    submissions = {s.pk: s for s in Submission.objects.filter(
        pk__in=[int(k[1:]) for k in by_key if k.startswith("s")])}
    rows = []
    for pair in pairs[:MAX_PAIRS]:
        b_kind = {"student": Pair.STUDENT, "earlier": Pair.EARLIER, "public": Pair.PUBLIC}[pair.b.kind]
        rows.append(Pair(
            run=run, a=submissions[int(pair.a.key[1:])],
            b=submissions.get(int(pair.b.key[1:])) if pair.b.key.startswith("s") else None,
            b_reference_id=int(pair.b.key[1:]) if pair.b.key.startswith("r") else None, b_kind=b_kind,
            similarity=pair.similarity, overlap=pair.overlap, longest=pair.longest,
            flagged=how == "code" and pair.flagged(), exact=how == "exact",
            fragments=[{"a": [f.a_start, f.a_end], "b": [f.b_start, f.b_end], "tokens": f.tokens,
                        "a_where": pair.a.where(f.a_start - 1), "b_where": pair.b.where(f.b_start - 1)}
                       for f in pair.fragments]))
    with transaction.atomic():
        Pair.objects.bulk_create(rows, batch_size=500)
        run.state, run.finished_at = Run.DONE, timezone.now()
        run.engine = similarity.ENGINE if how == "code" else "exact copies (whitespace ignored)"
        run.submissions, run.pairs_compared = students, compared
        run.parameters = {"mode": how, "k": similarity.K, "window": similarity.WINDOW,
                          "common_share": similarity.COMMON_SHARE, "threshold": similarity.THRESHOLD,
                          "stored_from": KEEP_BELOW, "references": references,
                          "histogram": histogram(pairs, compared)}
        run.save()
    return run


def request(assignment: Assignment, *, by=None, automatic: bool = False) -> tuple[Run, bool]:
    """A run for the assignment, queued on the training queue's hosts (CPU work); the run already queued or
    running is returned instead of a second one (idempotent). Returns (run, whether it is new)."""
    with transaction.atomic():
        Assignment.objects.select_for_update().filter(pk=assignment.pk).first()
        current = assignment.similarity_runs.filter(
            Q(state=Run.QUEUED) | Q(state=Run.RUNNING, started_at__gt=timezone.now() - STALE_AFTER)).first()
        if current is not None:
            return current, False
        run = Run.objects.create(assignment=assignment, requested_by=by, automatic=automatic)
        run_id = run.pk
        transaction.on_commit(lambda: _queue(run_id))
    return run, True


def _queue(run_id: int) -> None:
    try:
        send("server.similarity.tasks.similarity_run", (run_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - the broker is down: the beat's sweep queues it again
        log.warning("similarity run %s not queued (the beat will queue it): %s", run_id, exc)


def closes_at(assignment: Assignment):
    """When the last submission can arrive: the late window's end, the due date, or the latest extension."""
    last = assignment.late_until or assignment.due_at
    extended = assignment.extensions.aggregate(last=Max("due_at"))["last"]
    return max(filter(None, [last, extended]), default=None)


def sweep(*, now=None) -> int:
    """The beat's job: a run for each assignment whose submissions are all in (after the due date and the late
    window) and that has none since; queued runs the broker lost are sent again."""
    now = now or timezone.now()
    queued = 0
    for assignment in Assignment.objects.filter(due_at__lt=now).select_related("course"):
        closed = closes_at(assignment)
        if closed is None or closed > now or mode(assignment) == "off":
            continue
        if assignment.similarity_runs.filter(created_at__gte=closed).exists():
            continue
        _, new = request(assignment, automatic=True)
        queued += new
    for run in Run.objects.filter(state=Run.QUEUED, created_at__lt=now - timedelta(minutes=10)):
        _queue(run.pk)
    return queued


# -- what the page and the command show ------------------------------------------------------------------------------
def latest(assignment: Assignment) -> Run | None:
    return assignment.similarity_runs.filter(state=Run.DONE).order_by("-finished_at").first()


def decisions(assignment: Assignment) -> dict[tuple[str, str], Decision]:
    return {(d.a_key, d.b_key): d for d in assignment.similarity_decisions.all()}


def decide(pair: Pair, decision: str, note: str, by) -> Decision:
    a_key, b_key = pair.key
    found, _ = Decision.objects.update_or_create(
        assignment=pair.run.assignment, a_key=a_key, b_key=b_key,
        defaults={"decision": decision, "note": note[:2000], "decided_by": by})
    return found


def as_json(run: Run | None) -> dict:
    """The command's --json (its fields are fixed in DESIGN.md): pairs sorted by similarity, highest first."""
    if run is None:
        return {"engine": "", "pairs": []}
    pairs = run.pairs.select_related("a__student", "b__student", "b__assignment__course", "b_reference")
    return {"engine": run.engine, "pairs": [
        {"a": p.a.student.get_username(), "b": p.b_label, "similarity": p.similarity, "overlap": p.overlap,
         "longest": p.longest, "flagged": p.flagged} for p in pairs.order_by("-similarity", "-overlap", "pk")]}


def reference_add(assignment: Assignment, label: str, filename: str, data: bytes, by) -> Reference:
    code = similarity.notebook_code(data)[0] if filename.endswith(".ipynb") else data.decode("utf-8")
    return Reference.objects.create(assignment=assignment, label=label[:100], filename=filename[:255], code=code,
                                    uploaded_by=by)
