"""/c/<course>/<slug>/similarity/ (the ranked pairs, the histogram, the clusters, the run's state) and
/c/<course>/<slug>/similarity/<pair>/ (side by side, the shared fragments numbered): staff only. Nothing of it
reaches students, the API's student endpoints or e-mails."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from grader import similarity
from server.courses.access import assignment_for
from server.courses.models import Enrolment
from server.similarity import services
from server.similarity.models import Decision, Pair

STAFF = (Enrolment.INSTRUCTOR, Enrolment.TA)
SHOWN = 300
MAX_REFERENCE_BYTES = 1 << 20


def _staff(request, course_slug, slug):
    assignment, role = assignment_for(request, course_slug, slug)
    if role not in STAFF:
        raise PermissionDenied("Only the course's staff see the similarity of submissions.")
    return assignment, role


def _threshold(request) -> float:
    try:
        value = float(request.GET.get("threshold", similarity.THRESHOLD))
    except ValueError:
        return similarity.THRESHOLD
    return min(1.0, max(0.0, value))


@login_required
@require_http_methods(["GET", "POST"])
def similarity_page(request, course_slug, slug):
    assignment, role = _staff(request, course_slug, slug)
    if request.method == "POST":
        return _act(request, assignment, role)
    threshold = _threshold(request)
    order = "overlap" if request.GET.get("by") == "overlap" else "similarity"
    run = services.latest(assignment)
    pending = assignment.similarity_runs.filter(state__in=["queued", "running"]).order_by("-created_at").first()
    failed = assignment.similarity_runs.filter(state="failed").order_by("-created_at").first()
    pairs, groups, chart = [], [], None
    if run is not None:
        stored = run.pairs.select_related("a__student", "b__student", "b__assignment__course", "b_reference")
        pairs = list(stored.order_by(f"-{order}", "-similarity", "pk")[:SHOWN])
        decided = services.decisions(assignment)
        for pair in pairs:
            pair.decision = decided.get(pair.key)
            pair.above = pair.similarity >= threshold and not pair.exact
        student_pairs = [similarity.Pair(similarity.Source(p.a.student.get_username(), ""),
                                         similarity.Source(p.b.student.get_username(), ""), p.similarity, 0, 0, [])
                         for p in stored.filter(b_kind=Pair.STUDENT, exact=False, similarity__gte=threshold)]
        groups = similarity.clusters(student_pairs, threshold)
        bins = run.parameters.get("histogram") or []
        width = 1 / len(bins) if bins else 1
        chart = {"kind": "histogram", "x": "similarity", "y": "pairs",
                 "labels": [f"{i * width:.2f}" for i in range(len(bins))], "counts": bins,
                 "mark_from": min(len(bins), int(threshold / width + 1e-9)) if bins else None}
    written = (assignment.duplicate_flags.select_related("submission__student", "other__student")
               .order_by("-similarity") if assignment.reviewed else [])
    return render(request, "similarity/page.html", {
        "assignment": assignment, "course": assignment.course, "run": run, "pending": pending, "failed": failed,
        "pairs": pairs, "clusters": groups, "chart": chart, "threshold": threshold, "order": order,
        "mode": services.mode(assignment), "written": written, "instructor": role == Enrolment.INSTRUCTOR,
        "references": assignment.similarity_references.order_by("label")})


def _act(request, assignment, role):
    back = redirect("similarity", assignment.course.slug, assignment.slug)
    action = request.POST.get("action")
    if action == "run":
        run, new = services.request(assignment, by=request.user)
        messages.success(request, "The comparison is queued: this page shows it when it is done." if new
                         else "A comparison is already on its way.")
    elif action == "reference" and role == Enrolment.INSTRUCTOR:
        upload = request.FILES.get("file")
        label = request.POST.get("label", "").strip()
        if upload is None or not label:
            messages.error(request, "A known public solution needs a file and a label (where it comes from).")
        elif upload.size > MAX_REFERENCE_BYTES:
            messages.error(request, f"{upload.name} is larger than 1 MB: upload the solution's Python file.")
        else:
            try:
                with transaction.atomic():
                    services.reference_add(assignment, label, upload.name, upload.read(), request.user)
            except (UnicodeDecodeError, ValueError):
                messages.error(request, f"{upload.name} is neither UTF-8 Python nor a Jupyter notebook.")
            except IntegrityError:
                messages.error(request, f"A reference labelled {label!r} exists already.")
            else:
                messages.success(request, f"{label} is compared with every submission from the next run on.")
    else:
        raise PermissionDenied("That is not an action of this page.")
    return back


def _numbered(code: str, marks: list[tuple[int, int, int]]) -> list[dict]:
    """The code's lines, each with the numbers of the fragments it belongs to."""
    lines = []
    for n, text in enumerate(code.splitlines(), 1):
        numbers = [number for number, start, end in marks if start <= n <= end]
        lines.append({"n": n, "text": text, "fragments": numbers})
    return lines


@login_required
@require_http_methods(["GET", "POST"])
def pair_page(request, course_slug, slug, pair_id):
    assignment, role = _staff(request, course_slug, slug)
    pair = get_object_or_404(Pair.objects.select_related("a__student", "b__student", "b_reference", "run"),
                             pk=pair_id, run__assignment=assignment)
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in dict(Decision.CHOICES):
            raise PermissionDenied("Dismiss or confirm.")
        services.decide(pair, decision, request.POST.get("note", ""), request.user)
        messages.success(request, f"Pair {decision}.")
        return redirect("similarity_pair", course_slug, slug, pair.pk)
    a_code = pair.a.source
    b_code = pair.b_reference.code if pair.b_reference else pair.b.source
    fragments = [dict(f, number=i) for i, f in enumerate(pair.fragments, 1)]
    return render(request, "similarity/pair.html", {
        "assignment": assignment, "course": assignment.course, "pair": pair, "fragments": fragments,
        "a_lines": _numbered(a_code, [(f["number"], *f["a"]) for f in fragments]),
        "b_lines": _numbered(b_code, [(f["number"], *f["b"]) for f in fragments]),
        "decision": services.decisions(assignment).get(pair.key), "choices": Decision.CHOICES})
