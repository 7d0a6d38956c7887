from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from grader.errors import SubmissionRejected
from server.api.tokens import token_create
from server.courses import grades
from server.courses.access import assignment_for
from server.courses.models import Enrolment
from server.reviews import views as reviews
from server.submissions import clients
from server.submissions.forms import UploadForm
from server.submissions.models import GradingRun, Submission
from server.submissions.services import queue_estimate, submission_create
from server.submissions.uploads import SizeLimitHandler
from server.submissions.visibility import hides_for, student_report


@login_required
def home(request):
    enrolments = (Enrolment.objects.filter(user=request.user).select_related("course")
                  .prefetch_related("course__assignments"))
    return render(request, "submissions/home.html", {"enrolments": enrolments})


@csrf_exempt  # the upload handler must be installed before CSRF reads the body; csrf_protect follows
@login_required
def assignment_page(request, course_slug, slug):
    request.upload_handlers.insert(0, SizeLimitHandler(request, settings.BELLMAN_MAX_UPLOAD_BYTES))
    return _assignment_page(request, course_slug, slug)


@csrf_protect
def _assignment_page(request, course_slug, slug):
    assignment, role = assignment_for(request, course_slug, slug)
    folder = assignment.folder()
    if folder is not None and folder.kind.reviewed:
        return reviews.answers_page(request, assignment, role, folder)
    form, retry_after = UploadForm(), None
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, too_large=getattr(request, "upload_too_large", False))
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                submission = submission_create(assignment=assignment, student=request.user, role=role,
                                               filename=upload.name, data=upload.read())
            except SubmissionRejected as exc:
                form.add_error("file", str(exc))
                retry_after = getattr(exc, "retry_after", None)  # SubmissionThrottled: too many for now
            else:
                return redirect(submission)
    templates = [p.name for p in folder.templates()] if folder else []
    response = render(request, "submissions/assignment.html", {
        "assignment": assignment, "role": role, "form": form, "folder": folder, "templates": templates,
        "cell": clients.notebook_cell(assignment), "terminal_command": clients.terminal_command(assignment),
        **_history(request, assignment, role)}, status=429 if retry_after else 200)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@never_cache  # the page shows a token, once
@require_POST
@login_required
def notebook_token(request, course_slug, slug):
    """A new token for the notebook cell, and the cell with it, shown this once."""
    assignment, role = assignment_for(request, course_slug, slug)
    folder = assignment.folder()
    if folder is not None and folder.kind.reviewed:
        raise Http404("Written answers are submitted on their page.")
    _, token = token_create(request.user, f"notebook: {assignment.course.slug}/{assignment.slug}",
                            expires_at=assignment.course.token_expiry(timezone.now()))  # it expires with the course
    return render(request, "submissions/notebook_cell.html", {
        "assignment": assignment, "cell": clients.notebook_cell(assignment, token=token)})


def client_download(request):
    """The terminal client: public, as it holds nothing but code."""
    return HttpResponse(clients.client_source(), content_type="text/x-python; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="bellman_submit.py"'})


def _history(request, assignment, role) -> dict:
    """The submissions listed on an assignment's page (an instructor's: everyone's, or one student's with
    ``?student=``), the rules that apply to this viewer now, and scores as this viewer may see them."""
    now = timezone.now()
    submissions = assignment.submissions.select_related("student")
    staff = role in Enrolment.STAFF
    student = request.GET.get("student", "") if staff else ""
    if not staff:
        submissions = submissions.filter(student=request.user)
    elif student:
        submissions = submissions.filter(student__username=student)
    due = grades.personal_due(assignment, request.user) if not staff else assignment.due_at
    hide = hides_for(assignment, role=role, now=now, due=due)
    rows = list(submissions[:50])
    for row in rows:
        row.shown = student_report(row.report, hidden=set(assignment.hidden_checks), hide=hide)
        row.late_now = assignment.is_late(row.created_at, due if not staff else None)
    return {"submissions": rows, "student_filter": student, "due": due, "hide": hide,
            "acceptance": grades.acceptance(assignment, request.user, now=now, role=role)}


@login_required
def template_download(request, course_slug, slug, name):
    assignment, _ = assignment_for(request, course_slug, slug)
    folder = assignment.folder(strict=True)
    allowed = {p.name: p for p in folder.templates()} | {"README.md": folder.file("README.md")}
    if name not in allowed:
        raise Http404("No such file.")
    return FileResponse(open(allowed[name], "rb"), as_attachment=True, filename=name)


@login_required
def submission_page(request, pk):
    # Another student's submission and one that does not exist get the same answer (404), as in the API: the
    # page does not tell which ids exist.
    submission = get_object_or_404(Submission.objects.select_related("assignment__course", "student"), pk=pk)
    role = submission.assignment.course.role_of(request.user)
    if submission.student_id != request.user.pk and role not in Enrolment.STAFF:
        raise Http404("No such submission.")
    report = submission.report or {}
    folder = submission.assignment.folder()
    if folder is not None and folder.kind.reviewed:
        return reviews.result_page(request, submission, role, report, folder)
    assignment = submission.assignment
    due = grades.personal_due(assignment, submission.student)
    hide = hides_for(assignment, role=role, now=timezone.now(), due=due)
    report = student_report(report, hidden=set(assignment.hidden_checks), hide=hide,
                            staff=role in Enrolment.STAFF)
    curve_check = next((c for c in report.get("checks", []) if c.get("id") == "learning_curve"), None)
    partial = submission.status == Submission.RUNNING and submission.phase in (Submission.TRAINING_QUEUED,
                                                                                Submission.TRAINING)
    live = []
    curve_hidden = hide and "learning_curve" in assignment.hidden_checks
    if partial and submission.phase == Submission.TRAINING and not curve_hidden:
        live = GradingRun.objects.filter(pk=submission.current_run_id).values_list("live_curves", flat=True).first()
    return render(request, "submissions/submission.html", {
        "partial": partial, "live": {"curves": live or []},
        "queue": queue_estimate(submission) if submission.status == Submission.QUEUED else None,
        "submission": submission, "report": report, "role": role, "hide": hide, "due": due,
        "late": assignment.is_late(submission.created_at, due),
        "threshold": (curve_check or {}).get("details", {}).get("threshold"),
        "checks": report.get("checks", [])})
