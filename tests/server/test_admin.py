"""The admin for instructors: scoped to the courses they teach (lists, filters, objects by URL), and
theirs only as long as they teach one; superusers see everything."""
import html

import pytest
from django.contrib.auth import get_user_model

from server.courses.models import Assignment, Course, Enrolment
from server.courses.services import enrolment_change, enrolment_set, roster_import
from server.submissions.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(alice):
    """A course irene does not teach, with an assignment and a submission of alice's."""
    course = Course.objects.create(slug="planning", title="Planning and Search")
    assignment = Assignment.objects.create(course=course, slug="mcts", title="Tree search homework")
    Enrolment.objects.create(course=course, user=alice, role=Enrolment.STUDENT)
    Submission.objects.create(assignment=assignment, student=alice, filename="theirs.py", original=b"x", source="x")
    return course


@pytest.fixture
def as_irene(client, irene, alice, assignment, other):
    """irene teaches two courses (filters show a choice only when there are two), each with a submission."""
    bandits = Course.objects.create(slug="bandits", title="Bandits")
    enrolment_set(course=bandits, user=irene, role=Enrolment.INSTRUCTOR)
    for a in (assignment, Assignment.objects.create(course=bandits, slug="ucb", title="Upper confidence bounds")):
        Submission.objects.create(assignment=a, student=alice, filename="mine.py", original=b"x", source="x")
    client.force_login(irene)
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


def test_an_instructor_lists_only_the_courses_they_teach(as_irene):
    text = page(as_irene, "/admin/courses/course/")
    assert "Reinforcement Learning" in text
    assert "Bandits" in text
    assert "Planning and Search" not in text


def filter_choices(response, field_path) -> set[str]:
    """The choices the changelist's filter on ``field_path`` offers (shown when there are two or more)."""
    spec = next(f for f in response.context["cl"].filter_specs if f.field_path == field_path)
    return {str(label) for _, label in spec.lookup_choices}


def test_an_instructor_lists_only_their_courses_assignments_and_filters_by_their_courses(as_irene):
    text = page(as_irene, "/admin/courses/assignment/")
    assert "qlearning-cliffwalking" in text
    assert "ucb" in text
    assert "mcts" not in text
    assert filter_choices(as_irene.get("/admin/courses/assignment/"), "course") == {"Reinforcement Learning",
                                                                                   "Bandits"}


def test_the_submission_filters_offer_only_their_courses_and_assignments(as_irene):
    response = as_irene.get("/admin/submissions/submission/")
    assert "2 submissions" in page(as_irene, "/admin/submissions/submission/")
    assert filter_choices(response, "assignment__course") == {"Reinforcement Learning", "Bandits"}
    assert filter_choices(response, "assignment") == {"rl/qlearning-cliffwalking", "bandits/ucb"}


def test_another_courses_objects_are_not_found_by_url(as_irene, other):
    theirs = Submission.objects.get(filename="theirs.py")
    for url in (f"/admin/courses/course/{other.pk}/change/",
                f"/admin/courses/assignment/{other.assignments.get().pk}/change/",
                f"/admin/submissions/submission/{theirs.pk}/change/"):
        response = as_irene.get(url, follow=True)
        assert "doesn’t exist" in response.content.decode() or response.status_code == 404, url


def test_with_the_change_permission_the_choices_are_their_courses_only(as_irene, irene, assignment):
    from django.contrib.auth.models import Permission

    irene.user_permissions.add(Permission.objects.get(codename="change_assignment"))
    text = page(as_irene, f"/admin/courses/assignment/{assignment.pk}/change/")
    assert 'name="course"' in text
    assert "Planning and Search" not in text


def test_a_superuser_sees_every_course(admin_client, other, course, assignment, alice):
    Submission.objects.create(assignment=assignment, student=alice, filename="mine.py", original=b"x", source="x")
    text = page(admin_client, "/admin/courses/course/")
    assert "Reinforcement Learning" in text
    assert "Planning and Search" in text
    response = admin_client.get("/admin/submissions/submission/")
    assert filter_choices(response, "assignment__course") == {"Reinforcement Learning", "Planning and Search"}
    assert "2 submissions" in page(admin_client, "/admin/submissions/submission/")


# -- staff access follows the instructor enrolments ---------------------------------------------------
def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def view_permissions(user):
    return set(fresh(user).user_permissions.values_list("codename", flat=True))


def test_removing_the_last_instructor_enrolment_ends_staff_access(course, irene, bob):
    enrolment_set(course=course, user=bob, role=Enrolment.INSTRUCTOR)  # a second instructor may leave
    assert fresh(bob).is_staff
    assert "view_submission" in view_permissions(bob)
    enrolment_change(course=course, user=bob, role=None)
    assert not fresh(bob).is_staff
    assert view_permissions(bob) == set()


def test_becoming_a_student_ends_staff_access(course, irene, bob):
    enrolment_set(course=course, user=bob, role=Enrolment.INSTRUCTOR)
    enrolment_change(course=course, user=bob, role=Enrolment.STUDENT)
    assert not fresh(bob).is_staff


def test_an_instructor_of_another_course_keeps_staff_access(course, irene, bob, other):
    enrolment_set(course=other, user=bob, role=Enrolment.INSTRUCTOR)
    enrolment_set(course=course, user=bob, role=Enrolment.INSTRUCTOR)
    enrolment_change(course=course, user=bob, role=None)
    assert fresh(bob).is_staff
    assert "view_submission" in view_permissions(bob)


def test_a_roster_that_makes_an_instructor_a_student_ends_staff_access(course, irene, bob):
    enrolment_set(course=course, user=irene, role=Enrolment.INSTRUCTOR)
    enrolment_set(course=course, user=bob, role=Enrolment.INSTRUCTOR)
    roster = ("username,email,first_name,last_name,role\n"
              "irene,irene@uni.example,,,instructor\nbob,bob@uni.example,,,student\n")
    roster_import(course=course, data=roster.encode(), max_bytes=10_000)
    assert fresh(irene).is_staff
    assert not fresh(bob).is_staff


def test_an_enrolment_deleted_outside_the_services_ends_staff_access(course, irene, bob):
    enrolment_set(course=course, user=bob, role=Enrolment.INSTRUCTOR)
    Enrolment.objects.filter(course=course, user=bob).delete()  # as the admin's inline or a shell would
    assert not fresh(bob).is_staff


def test_deleting_a_course_ends_its_instructors_staff_access(other, bob):
    enrolment_set(course=other, user=bob, role=Enrolment.INSTRUCTOR)
    other.delete()
    assert not fresh(bob).is_staff


def test_an_instructor_demoted_in_the_admins_course_form_loses_staff_access(admin_client, course, irene, bob):
    enrolment_set(course=course, user=irene, role=Enrolment.INSTRUCTOR)
    enrolment_set(course=course, user=bob, role=Enrolment.INSTRUCTOR)
    rows = list(course.enrolments.order_by("pk"))
    data = {"slug": course.slug, "title": course.title, "token_days": str(course.token_days),
            "enrolments-TOTAL_FORMS": str(len(rows)),
            "enrolments-INITIAL_FORMS": str(len(rows)), "enrolments-MIN_NUM_FORMS": "0",
            "enrolments-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        data |= {f"enrolments-{i}-id": str(row.pk), f"enrolments-{i}-course": str(course.pk),
                 f"enrolments-{i}-user": str(row.user_id),
                 f"enrolments-{i}-role": "student" if row.user_id == bob.pk else row.role}
    response = admin_client.post(f"/admin/courses/course/{course.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not fresh(bob).is_staff
    assert fresh(irene).is_staff


def test_a_superuser_keeps_staff_access_without_courses(admin_user, course):
    enrolment_set(course=course, user=admin_user, role=Enrolment.INSTRUCTOR)
    Enrolment.objects.filter(user=admin_user).delete()
    assert fresh(admin_user).is_staff
    assert fresh(admin_user).is_superuser
