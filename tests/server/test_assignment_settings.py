"""Instructors edit an assignment in the app; students see hidden checks as hidden until their due date."""
import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from server.courses.models import Assignment, Extension
from tests.server.factories import graded

pytestmark = pytest.mark.django_db

CHECKS = [("epsilon_greedy", "passed", 30.0, 30.0, {}),
          ("q_update", "passed", 30.0, 30.0, {}),
          ("learning_curve", "passed", 40.0, 40.0, {"value": -13.0, "threshold": -17.0})]


def page(response) -> str:
    return html.unescape(response.content.decode())


def settings_url(assignment):
    return reverse("assignment_settings", args=[assignment.course.slug, assignment.slug])


def form(**overrides):
    data = {"title": "Q-learning warm-up", "is_open": "on", "opens_at": "", "due_at": "2026-12-01T23:59",
            "late_until": "", "late_policy": "none", "late_penalty_percent": "0", "counting": "latest",
            "submission_limit": "", "limit_window_hours": "24", "remind_missing": "on"}
    return {**data, **overrides}


def test_an_instructor_sets_a_due_date_a_penalty_and_a_hidden_check(client, irene, assignment):
    client.force_login(irene)
    response = client.post(settings_url(assignment), form(late_policy="penalty", late_penalty_percent="10",
                                                          hidden_checks=["q_update"]))
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.due_at.isoformat(), assignment.late_policy, assignment.late_penalty_percent,
            assignment.hidden_checks) == ("2026-12-01T23:59:00+00:00", "penalty", 10.0, ["q_update"])


def test_dates_in_the_wrong_order_are_refused_and_nothing_changes(client, irene, assignment):
    client.force_login(irene)
    response = client.post(settings_url(assignment), form(opens_at="2026-12-05T00:00"))
    assert "must come after" in page(response)
    assignment.refresh_from_db()
    assert assignment.due_at is None


def test_a_penalty_policy_needs_a_percentage(client, irene, assignment):
    client.force_login(irene)
    response = client.post(settings_url(assignment), form(late_policy="penalty"))
    assert "Give the percentage lost per day late" in page(response)


def test_a_hidden_check_must_be_one_of_the_assignments_checks(client, irene, assignment):
    client.force_login(irene)
    response = client.post(settings_url(assignment), form(hidden_checks=["no_such_check"]))
    assert response.status_code == 200
    assert Assignment.objects.get().hidden_checks == []


def test_an_extension_for_someone_not_enrolled_is_refused(client, irene, charlie, assignment):
    client.force_login(irene)
    response = client.post(settings_url(assignment), {"action": "extension", "username": "charlie",
                                                      "due_at": "2026-12-03T12:00"})
    assert "'charlie' is not a student of this course" in page(response)
    assert not Extension.objects.exists()


def test_an_extension_before_the_due_date_is_refused(client, irene, alice, assignment):
    assignment.due_at = timezone.now() + timedelta(days=3)
    assignment.save()
    client.force_login(irene)
    response = client.post(settings_url(assignment), {"action": "extension", "username": "alice",
                                                      "due_at": timezone.now().strftime("%Y-%m-%dT%H:%M")})
    assert "must end after the assignment's due date" in page(response)


def test_an_instructor_grants_an_extension(client, irene, alice, assignment):
    client.force_login(irene)
    client.post(settings_url(assignment), {"action": "extension", "username": "alice", "due_at": "2026-12-03T12:00"})
    assert Extension.objects.get().student == alice


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_settings_are_403_for_a_student_and_an_outsider(client, who, request, assignment):
    client.force_login(request.getfixturevalue(who))
    assert client.get(settings_url(assignment)).status_code == 403
    assert client.post(settings_url(assignment), form()).status_code == 403


@pytest.fixture
def hidden(assignment, alice):
    assignment.hidden_checks = ["q_update"]
    assignment.due_at = timezone.now() + timedelta(days=1)
    assignment.save()
    return graded(assignment, alice, score=100, at=timezone.now(), checks=CHECKS)


def test_before_the_due_date_a_student_sees_that_a_hidden_check_exists_and_its_points(client, alice, hidden):
    client.force_login(alice)
    text = page(client.get(hidden.get_absolute_url()))
    assert "This check's result is shown after the due date." in text
    assert "? / 30" in text


def test_before_the_due_date_a_hidden_checks_feedback_is_not_shown(client, alice, hidden):
    client.force_login(alice)
    assert "q_update passed" not in page(client.get(hidden.get_absolute_url()))


def test_before_the_due_date_the_total_leaves_out_the_hidden_check(client, alice, hidden):
    client.force_login(alice)
    text = page(client.get(hidden.get_absolute_url()))
    assert "Score: <strong>70</strong>" in text
    assert "without the hidden checks, 30 pts" in text


def test_after_the_due_date_the_hidden_check_is_revealed(client, alice, hidden, assignment):
    assignment.due_at = timezone.now() - timedelta(minutes=1)
    assignment.save()
    client.force_login(alice)
    assert "q_update passed" in page(client.get(hidden.get_absolute_url()))


def test_an_extension_keeps_the_check_hidden_until_the_students_own_due_date(client, alice, irene, hidden, assignment):
    assignment.due_at = timezone.now() - timedelta(minutes=1)
    assignment.save()
    Extension.objects.create(assignment=assignment, student=alice, due_at=timezone.now() + timedelta(days=1),
                             granted_by=irene)
    client.force_login(alice)
    assert "q_update passed" not in page(client.get(hidden.get_absolute_url()))


def test_the_instructor_sees_a_hidden_check_before_the_due_date(client, irene, hidden):
    client.force_login(irene)
    assert "q_update passed" in page(client.get(hidden.get_absolute_url()))


def test_the_course_page_shows_a_student_the_visible_score_only(client, alice, hidden, course):
    client.force_login(alice)
    text = page(client.get(reverse("course", args=[course.slug])))
    assert "70 <small>+ hidden checks (30 pts) after the due date" in text
    assert "100" not in text


def test_the_course_page_hides_the_score_that_counts_while_a_newer_submission_grades(client, alice, hidden, course,
                                                                                    assignment):
    graded(assignment, alice, score=0, at=timezone.now(), status="queued")
    client.force_login(alice)
    assert "100" not in page(client.get(reverse("course", args=[course.slug])))


def test_the_assignment_page_lists_the_visible_score_only(client, alice, hidden, assignment):
    client.force_login(alice)
    text = page(client.get(assignment.get_absolute_url()))
    assert "70 / 100" in text
    assert "100 / 100" not in text


def test_an_extension_never_ends_before_the_class_due_date(alice, irene, assignment):
    assignment.due_at = timezone.now() + timedelta(days=3)
    assignment.save()
    Extension.objects.create(assignment=assignment, student=alice, due_at=timezone.now() + timedelta(days=1),
                             granted_by=irene)
    from server.courses.grades import personal_due

    assert personal_due(assignment, alice) == assignment.due_at
