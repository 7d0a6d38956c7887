"""Who may open a course's pages: the one place that turns a URL's course and assignment into what the user
may see of them."""
from django.core.exceptions import PermissionDenied
from django.http import Http404

from server.courses.models import Assignment, Course


def assignment_for(request, course_slug, slug):
    """The assignment and the user's role in its course. Someone outside the course gets the same 403
    whether the course or the assignment exists or not: a guessed URL tells nothing."""
    assignment = Assignment.objects.select_related("course").filter(course__slug=course_slug, slug=slug).first()
    course = assignment.course if assignment else Course.objects.filter(slug=course_slug).first()
    role = course.role_of(request.user) if course else None
    if role is None:
        raise PermissionDenied("You are not enrolled in this course.")
    if assignment is None:
        raise Http404("No such assignment in this course.")
    return assignment, role
