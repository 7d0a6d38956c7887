from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from grader import assignments as folders
from grader.errors import AssignmentError, SubmissionRejected
from server.courses.models import Assignment, Enrolment
from server.submissions.forms import UploadForm
from server.submissions.models import Submission
from server.submissions.services import submission_create
from server.submissions.uploads import SizeLimitHandler


@login_required
def home(request):
    enrolments = (Enrolment.objects.filter(user=request.user).select_related("course")
                  .prefetch_related("course__assignments"))
    return render(request, "submissions/home.html", {"enrolments": enrolments})


def _assignment_for(request, course_slug, slug):
    assignment = get_object_or_404(Assignment.objects.select_related("course"), course__slug=course_slug, slug=slug)
    role = assignment.course.role_of(request.user)
    if role is None:
        raise PermissionDenied("You are not enrolled in this course.")
    return assignment, role


@csrf_exempt  # the upload handler must be installed before CSRF reads the body; csrf_protect follows
@login_required
def assignment_page(request, course_slug, slug):
    request.upload_handlers.insert(0, SizeLimitHandler(request, settings.BELLMAN_MAX_UPLOAD_BYTES))
    return _assignment_page(request, course_slug, slug)


@csrf_protect
def _assignment_page(request, course_slug, slug):
    assignment, role = _assignment_for(request, course_slug, slug)
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, too_large=getattr(request, "upload_too_large", False))
        if not assignment.is_open:
            form.add_error(None, "This assignment is closed for submissions.")
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                submission = submission_create(assignment=assignment, student=request.user,
                                               filename=upload.name, data=upload.read())
            except SubmissionRejected as exc:
                form.add_error("file", str(exc))
            else:
                return redirect(submission)
    submissions = assignment.submissions.select_related("student")
    if role != Enrolment.INSTRUCTOR:
        submissions = submissions.filter(student=request.user)
    try:
        folder = folders.get(slug, settings.BELLMAN_ASSIGNMENTS_DIR)
        templates = [p.name for p in folder.templates()]
    except AssignmentError:
        folder, templates = None, []
    return render(request, "submissions/assignment.html", {
        "assignment": assignment, "role": role, "form": form, "submissions": submissions[:50],
        "folder": folder, "templates": templates})


@login_required
def template_download(request, course_slug, slug, name):
    assignment, _ = _assignment_for(request, course_slug, slug)
    folder = folders.get(assignment.slug, settings.BELLMAN_ASSIGNMENTS_DIR)
    allowed = {p.name: p for p in folder.templates()} | {"README.md": folder.file("README.md")}
    if name not in allowed:
        raise Http404("No such file.")
    return FileResponse(open(allowed[name], "rb"), as_attachment=True, filename=name)


@login_required
def submission_page(request, pk):
    submission = get_object_or_404(Submission.objects.select_related("assignment__course", "student"), pk=pk)
    role = submission.assignment.course.role_of(request.user)
    if submission.student_id != request.user.pk and role != Enrolment.INSTRUCTOR:
        raise PermissionDenied("This is not your submission.")
    report = submission.report or {}
    curve_check = next((c for c in report.get("checks", []) if c.get("id") == "learning_curve"), None)
    return render(request, "submissions/submission.html", {
        "submission": submission, "report": report, "role": role,
        "threshold": (curve_check or {}).get("details", {}).get("threshold"),
        "check_results": submission.check_results.all()})
