"""The pages of the written answers' review: the students' answer form and result page (reached from the
assignment's and the submission's URLs, which serve every kind), the instructors' review queue and review."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from grader.errors import SubmissionRejected
from server.courses.access import assignment_for
from server.courses.models import Enrolment
from server.reviews import services
from server.reviews.forms import WrittenUploadForm
from server.submissions.models import Submission
from server.submissions.services import submission_create


def result_page(request, submission, role, report, folder):
    """A reviewed submission's page: its scores once published (instructors: always)."""
    publication = getattr(submission, "publication", None)
    titles = {c.id: c.title for c in folder.checks}
    rows = services.final_checks(submission) if (publication or role in Enrolment.STAFF) else []
    for row in rows:
        row["title"] = titles.get(row["check"].check_id, "")
    return render(request, "reviews/result.html", {
        "submission": submission, "report": report, "role": role, "staff": role in Enrolment.STAFF,
        "publication": publication, "rows": rows})


def answers_page(request, assignment, role, folder):
    """The assignment's page for a reviewed kind: the answers' web form with its drafts, an upload, the history."""
    rubric = folder.rubric()
    limit = folder.kind.max_upload_bytes(folder, settings.BELLMAN_MAX_UPLOAD_BYTES)
    upload = WrittenUploadForm(limit=limit)
    answers = services.draft_answers(assignment, request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in ("draft", "autosave", "submit"):
            answers = services.answers_from_post(request.POST)
            services.draft_save(assignment=assignment, student=request.user, answers=answers, folder=folder)
            if action == "autosave":
                return JsonResponse({"saved": True})
            if action == "draft":
                messages.success(request, "Draft saved.")
                return redirect(assignment.get_absolute_url())
        if action in ("submit", "upload"):
            try:
                if action == "submit":
                    filename, data = "answers.md", services.form_to_file(folder, answers)
                else:
                    upload = WrittenUploadForm(request.POST, request.FILES, limit=limit,
                                               too_large=getattr(request, "upload_too_large", False))
                    if not upload.is_valid():
                        raise SubmissionRejected(" ".join(e for errors in upload.errors.values() for e in errors))
                    filename, data = upload.cleaned_data["file"].name, upload.cleaned_data["file"].read()
                submission = submission_create(assignment=assignment, student=request.user, filename=filename,
                                               data=data, role=role)
            except SubmissionRejected as exc:
                messages.error(request, str(exc))
            else:
                return redirect(submission)
    submissions = assignment.submissions.select_related("student", "publication")
    if role not in Enrolment.STAFF:
        submissions = submissions.filter(student=request.user)
    items = [{"id": i, "item": rubric.item(i), "answer": answers.get(i, ""), "essay": i in rubric.essays}
             for i in rubric.ids]
    return render(request, "reviews/answers.html", {
        "assignment": assignment, "role": role, "staff": role in Enrolment.STAFF, "folder": folder, "items": items,
        "upload": upload,
        "submissions": submissions[:50], "spec": folder.spec.written,
        "templates": [p.name for p in folder.templates()]})


def _instructor_assignment(request, course_slug, slug):
    assignment, role = assignment_for(request, course_slug, slug)
    if role not in Enrolment.STAFF:
        raise PermissionDenied("Only the course's instructors and teaching assistants review answers.")
    return assignment


@login_required
def review_queue(request, course_slug, slug):
    assignment = _instructor_assignment(request, course_slug, slug)
    if request.method == "POST" and request.POST.get("action") == "publish-reviewed":
        count = services.publish_reviewed(assignment=assignment, by=request.user)
        messages.success(request, f"Published {count} reviewed submission{'s' if count != 1 else ''}.")
        return redirect("review_queue", course_slug, slug)
    flags = assignment.duplicate_flags.select_related("submission__student", "other__student")
    return render(request, "reviews/queue.html", {
        "assignment": assignment, "rows": services.queue(assignment),
        "flags": [f for f in flags if f.submission_id < f.other_id]})


@login_required
def review_submission(request, pk):
    submission = get_object_or_404(Submission.objects.select_related("assignment__course", "student"), pk=pk)
    if submission.assignment.course.role_of(request.user) not in Enrolment.STAFF:
        raise PermissionDenied("Only the course's instructors and teaching assistants review answers.")
    folder = submission.assignment.folder()
    if folder is None or not folder.kind.reviewed:
        raise Http404("Only written answers are reviewed here.")
    error = ""
    if request.method == "POST":
        check_ids = list(submission.check_results.values_list("check_id", flat=True))
        try:
            services.review_save(submission=submission, grader=request.user,
                                decisions=services.parse_review_post(request.POST, check_ids))
            if request.POST.get("action") == "publish":
                services.publish(submission=submission, by=request.user)
                messages.success(request, f"Published: {submission.student.get_username()} can see the scores.")
            else:
                messages.success(request, "Review saved.")
            return redirect("review_submission", submission.pk)
        except services.ReviewError as exc:
            error = str(exc)
    rubric = folder.rubric()
    rows = services.final_checks(submission)
    for row in rows:
        item = rubric.item(row["check"].check_id)
        row["item"] = item
    flags = submission.duplicate_flags.select_related("other__student")
    return render(request, "reviews/review.html", {
        "submission": submission, "rows": rows, "error": error, "flags": flags,
        "publication": getattr(submission, "publication", None), "reviewed": services.is_reviewed(submission)})
