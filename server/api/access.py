"""Who may read what through the API: the pages' rules (server/dashboard/views.py,
server/submissions/views.py), with the same answer for a course that does not exist and one the
caller is not a member of, so that a guessed slug tells nothing."""
from django.db.models import Prefetch

from server.api.errors import ApiError
from server.courses.models import Assignment, Course, Enrolment
from server.submissions.models import Submission

NOT_A_MEMBER = "You are not a member of this course (or it does not exist)."
INSTRUCTORS_ONLY = "Only the course's instructors can see this."


def course_for(user, slug: str, *, instructor: bool = False) -> tuple[Course, str]:
    """The course and the caller's role in it; 403 ``forbidden`` for a non-member, or for a student
    where ``instructor`` is asked."""
    course = Course.objects.filter(slug=slug).first()
    role = course.role_of(user) if course else None
    if role is None:
        raise ApiError("forbidden", NOT_A_MEMBER)
    if instructor and role not in Enrolment.STAFF:
        raise ApiError("forbidden", INSTRUCTORS_ONLY)
    return course, role


def assignment_for(user, course_slug: str, slug: str, *, instructor: bool = False) -> tuple[Assignment, str]:
    """As course_for, then 404 ``not_found`` for an assignment the course does not have."""
    course, role = course_for(user, course_slug, instructor=instructor)
    assignment = course.assignments.filter(slug=slug).first()
    if assignment is None:
        raise ApiError("not_found", f"The course {course.slug!r} has no assignment {slug!r}.")
    assignment.course = course
    return assignment, role


def submission_for(user, pk: int) -> tuple[Submission, str | None]:
    """A submission its student or an instructor of its course may read; 404 ``not_found`` for any
    other, as for one that does not exist."""
    submission = (Submission.objects.select_related("assignment__course", "student", "publication")
                  .filter(pk=pk).first())
    role = submission.assignment.course.role_of(user) if submission else None
    if submission is None or (submission.student_id != user.pk and role not in Enrolment.STAFF):
        raise ApiError("not_found", f"There is no submission {pk} of yours.")
    return submission, role


def memberships(user):
    """The caller's enrolments with their courses and assignments, by course slug."""
    return (Enrolment.objects.filter(user=user).select_related("course").order_by("course__slug")
            .prefetch_related(Prefetch("course__assignments", queryset=Assignment.objects.order_by("due_at", "slug"))))
