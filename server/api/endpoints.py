"""The API's operations: each parses its input, asks access.py who may, calls the services the pages
call, and answers with serialise.py's dicts. docs/api.md documents each one."""
import math

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from grader import assignments as folders
from grader.errors import SubmissionRejected
from server.api import serialise
from server.api.access import assignment_for, course_for, memberships, submission_for
from server.api.errors import ApiError
from server.api.schemas import AssignmentOut, CourseOut, Error, Gradebook, SubmissionDetail, SubmissionSummary
from server.courses import grades
from server.courses.models import Enrolment
from server.dashboard import stats
from server.dashboard.gradebook import FIXED_COLUMNS, gradebook_table
from server.notifications.services import absolute
from server.submissions.forms import too_large_message
from server.submissions.services import SubmissionRefused, SubmissionThrottled, submission_create
from server.submissions.visibility import hides_for

router = Router()
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 429: Error}


def _registry() -> dict:
    return folders.registry(settings.BELLMAN_ASSIGNMENTS_DIR)


@router.get("/courses", response={200: list[CourseOut], **ERRORS}, url_name="course_list", tags=["courses"])
def course_list(request):
    """My courses, my role in each, and each assignment with my due date, its rules and my latest submission."""
    user, now, found = request.auth, timezone.now(), _registry()
    return [{"slug": e.course.slug, "title": e.course.title, "url": absolute(e.course.get_absolute_url()),
             "role": e.role, "assignments": serialise.course_assignments(e.course, user=user, role=e.role,
                                                                       folders=found, now=now)}
            for e in memberships(user)]


@router.get("/courses/{course}/assignments/{slug}", response={200: AssignmentOut, **ERRORS},
            url_name="assignment_detail", tags=["courses"])
def assignment_detail(request, course: str, slug: str):
    """One assignment as in GET /courses."""
    assignment, role = assignment_for(request.auth, course, slug)
    found = {assignment.slug: assignment.folder()}
    return serialise.course_assignments(assignment.course, user=request.auth, role=role, folders=found,
                                        now=timezone.now(), only=assignment.slug)[0]


@router.post("/courses/{course}/assignments/{slug}/submissions",
             response={201: SubmissionDetail, 413: Error, **ERRORS}, url_name="submission_create", tags=["submissions"])
def submission_upload(request, response: HttpResponse, course: str, slug: str, file: UploadedFile = File(...)):
    """Submit a file (multipart field ``file``) under the upload form's rules and messages: 413
    ``too_large``, 400 ``bad_file``, 403 ``closed``, 429 ``limit_reached`` with Retry-After, 429 ``rate_limited``
    with Retry-After (BELLMAN_API_RATE_SUBMIT, one count per student with the upload form's)."""
    assignment, role = assignment_for(request.auth, course, slug)
    folder = assignment.folder()
    rules = serialise.upload_rules(assignment, folder)
    if file.size > rules["max_upload_bytes"]:
        raise ApiError("too_large", too_large_message(rules["max_upload_bytes"], written=rules["kind"] == "written"))
    now = timezone.now()
    try:
        submission = submission_create(assignment=assignment, student=request.auth, role=role,
                                       filename=file.name or "upload", data=file.read(), now=now)
    except SubmissionRefused as exc:
        raise _refusal(exc, now) from None
    except SubmissionThrottled as exc:
        raise ApiError("rate_limited", str(exc), retry_after=exc.retry_after) from None
    except SubmissionRejected as exc:
        raise ApiError("bad_file", str(exc)) from None
    detail = serialise.submission_detail(submission, role=role, folder=folder, now=timezone.now())
    response["Location"] = detail["api_url"]
    return Status(201, detail)


def _refusal(exc: SubmissionRefused, now) -> ApiError:
    verdict = exc.verdict
    if verdict.code == "limit":
        return ApiError("limit_reached", str(exc),
                        retry_after=math.ceil((verdict.next_allowed_at - now).total_seconds()))
    return ApiError("closed", str(exc))


@router.get("/courses/{course}/assignments/{slug}/submissions", response={200: list[SubmissionSummary], **ERRORS},
            url_name="submission_list", tags=["submissions"])
def submission_list(request, course: str, slug: str, student: str = Query("", description=(
        "Instructors: one student's submissions (username); ignored for students, as on the page.")),
        limit: int = Query(100, ge=1, le=500)):
    """My submissions to an assignment, newest first (an instructor's: everyone's, or one student's)."""
    assignment, role = assignment_for(request.auth, course, slug)
    folder, now = assignment.folder(), timezone.now()
    submissions = assignment.submissions.select_related("student", "publication")
    if role not in Enrolment.STAFF:
        submissions = submissions.filter(student=request.auth)
    elif student:
        submissions = submissions.filter(student__username=student)
    extensions = grades.extensions_by_student([assignment.pk])
    rows = []
    for submission in submissions[:limit]:
        submission.assignment = assignment
        due = assignment.due_for(extensions.get((assignment.pk, submission.student_id)))
        hide = hides_for(assignment, role=role, now=now, due=due)
        rows.append(serialise.submission_summary(submission, role=role, folder=folder, hide=hide, due=due))
    return rows


@router.get("/submissions/{submission_id}", response={200: SubmissionDetail, **ERRORS},
            url_name="submission_detail", tags=["submissions"])
def submission_detail(request, submission_id: int):
    """A submission's status, score and report (the CLI's JSON) as its results page shows them."""
    submission, role = submission_for(request.auth, submission_id)
    return serialise.submission_detail(submission, role=role, folder=submission.assignment.folder(),
                                       now=timezone.now())


@router.get("/courses/{course}/gradebook", response={200: Gradebook, **ERRORS}, url_name="gradebook",
            tags=["instructors"])
def gradebook(request, course: str):
    """Instructors: the gradebook CSV's columns and rows, one object per student (null: nothing counts yet)."""
    found, _ = course_for(request.auth, course, instructor=True)
    registry = _registry()
    header, rows = gradebook_table(found, folders={a.slug: registry.get(a.slug) for a in found.assignments.all()})
    scores = set(header) - set(FIXED_COLUMNS)
    return {"columns": header,
            "rows": [{k: (None if k in scores and v == "" else v) for k, v in zip(header, row, strict=True)}
                     for row in rows]}


@router.get("/courses/{course}/assignments/{slug}/statistics", response={200: dict, **ERRORS},
            url_name="statistics", tags=["instructors"])
def statistics(request, course: str, slug: str):
    """Instructors: the assignment dashboard's numbers."""
    assignment, _ = assignment_for(request.auth, course, slug, instructor=True)
    folder = assignment.folder()
    return serialise.dashboard_data(stats.assignment_dashboard(assignment, folder=folder))
