"""The instructor's side of a course: the course page, settings, roster, dashboard, gradebook, regrades.

Every view here answers 403 to anyone who is not an instructor of the course (the course page also
to its students), and the same 403 for a course or assignment that does not exist, so that a guessed
URL tells nothing.
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from grader import assignments as folders
from server.courses import grades, services
from server.courses.models import Assignment, Course, Enrolment
from server.dashboard import stats
from server.dashboard.forms import AssignmentSettingsForm, ExtensionForm, MemberForm, RosterUploadForm
from server.dashboard.gradebook import gradebook_csv
from server.lti import grades as lti_grades, services as lti_services
from server.lti.models import LineItem
from server.notifications.models import Suppression
from server.security import posted_id
from server.submissions.models import Submission
from server.submissions.services import RegradeError, regrade_request
from server.submissions.uploads import SizeLimitHandler
from server.submissions.visibility import hides_for, student_report

NOT_ALLOWED = "Only the course's instructors can see this page."
STAFF_ONLY = "Only the course's instructors and teaching assistants can see this page."
MEMBER, STAFF, INSTRUCTOR = "member", "staff", "instructor"  # who may open a page


def _course(request, course_slug, *, need: str) -> tuple[Course, str]:
    course = Course.objects.filter(slug=course_slug).first()
    role = course.role_of(request.user) if course else None
    if role is None:
        raise PermissionDenied("You are not a member of this course.")
    if need == INSTRUCTOR and role != Enrolment.INSTRUCTOR:
        raise PermissionDenied(NOT_ALLOWED)
    if need == STAFF and role not in Enrolment.STAFF:
        raise PermissionDenied(STAFF_ONLY)
    return course, role


def _assignment(request, course_slug, slug, *, need: str = INSTRUCTOR) -> Assignment:
    course, _ = _course(request, course_slug, need=need)
    assignment = course.assignments.filter(slug=slug).first()
    if assignment is None:
        raise PermissionDenied("This course has no such assignment.")
    assignment.course = course
    return assignment


def _folders(course) -> dict:
    known = folders.registry(settings.BELLMAN_ASSIGNMENTS_DIR)
    return {a.slug: known.get(a.slug) for a in course.assignments.all()}


@login_required
def course_page(request, course_slug):
    course, role = _course(request, course_slug, need=MEMBER)
    found = _folders(course)
    context = {"course": course, "role": role}
    if role in Enrolment.STAFF:
        context["overview"] = stats.course_overview(course, folders=found)
    else:
        context["mine"] = _student_lines(course, request.user, found)
    return render(request, "dashboard/course.html", context)


def _student_lines(course, student, found) -> list[dict]:
    """A student's assignments: due date (theirs), latest submission and its score as they may see it,
    and the score that counts."""
    now = timezone.now()
    assignments = list(course.assignments.all())
    extensions = grades.extensions_by_student(a.pk for a in assignments)
    standing = grades.standings(assignments)
    latest = {}
    for sub in Submission.objects.filter(assignment__course=course, student=student).order_by("created_at", "id"):
        latest[sub.assignment_id] = sub
    lines = []
    for a in assignments:
        due = a.due_for(extensions.get((a.pk, student.pk)))
        sub = latest.get(a.pk)
        hide = hides_for(a, role=Enrolment.STUDENT, now=now, due=due)
        shown = None
        reviewed = found.get(a.slug) is not None and found[a.slug].kind.reviewed
        if sub is not None and sub.status == Submission.GRADED and not reviewed:
            shown = student_report(sub.report, hidden=set(a.hidden_checks), hide=hide)
        # While hidden checks are hidden, the score that counts (which includes them) is not shown at all.
        lines.append({"assignment": a, "due": due, "extended": due != a.due_at, "latest": sub, "shown": shown,
                      "standing": None if hide else standing.get((a.pk, student.pk)), "hiding": hide,
                      "acceptance": grades.acceptance(a, student, now=now)})
    return lines


@login_required
def dashboard(request, course_slug, slug):
    assignment = _assignment(request, course_slug, slug, need=STAFF)
    folder = assignment.folder()
    data = stats.assignment_dashboard(assignment, folder=folder)
    return render(request, "dashboard/dashboard.html", {
        "assignment": assignment, "course": assignment.course, "folder": folder, "data": data,
        "charts": _charts(data), "lms": lti_grades.summary(assignment), "lms_policies": LineItem.POLICIES,
        "role": assignment.course.role_of(request.user)})


def _charts(data) -> dict:
    """The data each chart of the dashboard draws (static/bellman-charts.js reads it)."""
    charts = {
        "scores": {"kind": "histogram", "labels": data["histogram"]["labels"], "counts": data["histogram"]["counts"],
                   "x": "score (the submission that counts)", "y": "students"},
        "hourly": {"kind": "hourly", **data["per_hour"], "x": "hour", "y": "submissions"},
    }
    if data["curve"]:
        charts["curve"] = {"kind": "band", **data["curve"], "threshold": data["threshold"],
                           "x": "training episode", "y": "return (IQM across students)"}
    if data["metric_histogram"]:
        charts["metric"] = {"kind": "histogram", **data["metric_histogram"], "threshold": data["threshold"],
                            "x": "learning-curve metric of each student", "y": "students"}
    return charts


@login_required
def gradebook(request, course_slug):
    course, _ = _course(request, course_slug, need=STAFF)
    response = HttpResponse(gradebook_csv(course, folders=_folders(course)), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{course.slug}-gradebook-{stamp}.csv"'
    return response


@login_required
def assignment_settings(request, course_slug, slug):
    assignment = _assignment(request, course_slug, slug)
    folder = assignment.folder()
    check_ids = [c.id for c in folder.checks] if folder else list(assignment.hidden_checks)
    form = AssignmentSettingsForm(instance=assignment, check_ids=check_ids)
    extension_form = ExtensionForm()
    if request.method == "POST" and request.POST.get("action") == "extension":
        extension_form = ExtensionForm(request.POST)
        if extension_form.is_valid():
            try:
                ext = services.extension_set(assignment=assignment, by=request.user, **extension_form.cleaned_data)
            except services.MembershipError as exc:
                extension_form.add_error(None, str(exc))
            else:
                messages.success(request, f"{ext.student.get_username()} now has until "
                                          f"{timezone.localtime(ext.due_at):%a %d %b %Y %H:%M}.")
                return redirect("assignment_settings", course_slug, slug)
    elif request.method == "POST" and request.POST.get("action") == "remove-extension":
        assignment.extensions.filter(pk=posted_id(request, "extension")).delete()
        messages.success(request, "Extension removed.")
        return redirect("assignment_settings", course_slug, slug)
    elif request.method == "POST":
        form = AssignmentSettingsForm(request.POST, instance=assignment, check_ids=check_ids)
        if form.is_valid():
            form.save()
            messages.success(request, "Settings saved.")
            return redirect("assignment_settings", course_slug, slug)
    return render(request, "dashboard/settings.html", {
        "assignment": assignment, "course": assignment.course, "form": form, "extension_form": extension_form,
        "extensions": assignment.extensions.select_related("student").order_by("student__username"),
        "students": stats.roster(assignment.course)})


@csrf_exempt  # the upload handler must be installed before CSRF reads the body; csrf_protect follows
@login_required
def roster(request, course_slug):
    request.upload_handlers.insert(0, SizeLimitHandler(request, settings.BELLMAN_MAX_ROSTER_BYTES))
    return _roster(request, course_slug)


@csrf_protect
def _roster(request, course_slug):
    course, _ = _course(request, course_slug, need=INSTRUCTOR)
    form, result, problems = RosterUploadForm(), None, []
    if request.method == "POST" and request.POST.get("action") == "member":
        member = MemberForm(request.POST)
        if member.is_valid():
            user = get_user_model().objects.filter(username=member.cleaned_data["username"]).first()
            role = member.cleaned_data["role"]
            try:
                if user is None:
                    raise services.MembershipError("No such user.")
                services.enrolment_change(course=course, user=user, role=None if role == "remove" else role)
            except services.MembershipError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"{user.get_username()}: {'removed' if role == 'remove' else role}.")
            return redirect("roster", course_slug)
    elif request.method == "POST" and request.POST.get("action") == "merge":
        users = get_user_model().objects
        lms_user = users.filter(username=request.POST.get("lms_user", "")).first()
        csv_user = users.filter(username=request.POST.get("csv_user", "")).first()
        try:
            if lms_user is None or csv_user is None:
                raise lti_services.MergeRefused("No such user.")
            lti_services.merge(course, lms_user, csv_user)
        except lti_services.MergeRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{lms_user.get_username()} merged into {csv_user.get_username()}: LMS "
                                      f"launches now sign in as {csv_user.get_username()}.")
        return redirect("roster", course_slug)
    elif request.method == "POST":
        form = RosterUploadForm(request.POST, request.FILES, too_large=getattr(request, "upload_too_large", False))
        if form.is_valid():
            try:
                result = services.roster_import(course=course, data=form.cleaned_data["file"].read(),
                                                max_bytes=settings.BELLMAN_MAX_ROSTER_BYTES)
            except services.RosterError as exc:
                problems = exc.problems
    links = [(user, request.build_absolute_uri(path)) for user, path in (result.created if result else [])]
    members = list(course.enrolments.select_related("user").order_by("role", "user__username"))
    refused = dict(Suppression.objects.filter(email__in=[m.user.email.lower() for m in members if m.user.email])
                   .values_list("email", "reason"))
    for member in members:
        member.mail_refused = refused.get(member.user.email.lower(), "")
    return render(request, "dashboard/roster.html", {
        "course": course, "form": form, "result": result, "problems": problems, "links": links,
        "members": members, "roles": Enrolment.ROLES, "refused_count": len(refused),
        "merges": lti_services.merge_candidates(course) if course.lti_contexts.exists() else []})


@login_required
@require_POST
def regrade(request, course_slug, slug):
    assignment = _assignment(request, course_slug, slug)
    submission = None
    submission_id = posted_id(request, "submission")
    if submission_id is not None:
        submission = assignment.submissions.filter(pk=submission_id).first()
        if submission is None:
            raise PermissionDenied("That submission is not of this assignment.")
    try:
        with transaction.atomic():
            done = regrade_request(assignment=assignment, by=request.user, submission=submission)
    except RegradeError as exc:
        messages.error(request, str(exc))
    else:
        count = done.items.count()
        messages.success(request, f"Regrading {count} submission{'s' if count != 1 else ''}; the progress and "
                                  "every changed score show below.")
    return redirect("dashboard", course_slug, slug)
