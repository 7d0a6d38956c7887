"""The assignment dashboard and the course overview: what they count, who may see them, and a number of
queries that does not grow with the class."""
import html
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from server.dashboard import stats
from tests.server.factories import graded, student

pytestmark = pytest.mark.django_db


def checks(mistake=None, value=-13.0):
    return [("epsilon_greedy", "passed", 30.0, 30.0, {}),
            ("q_update", "failed" if mistake else "passed", 0.0 if mistake else 30.0, 30.0,
             {"mistake": mistake} if mistake else {}),
            ("learning_curve", "passed", 40.0, 40.0, {"value": value, "threshold": -17.0})]


def curves(level, n=5, episodes=200):
    return [{"label": f"run {i + 1}", "episode_returns": list(np.linspace(-100, level, episodes))} for i in range(n)]


def class_of(course, assignment, size, *, mistake_every=3):
    now = timezone.now()
    for i in range(size):
        who = student(course, f"s{i:03d}")
        mistake = "gamma_missing" if i % mistake_every == 0 else None
        graded(assignment, who, score=70 if mistake else 100, at=now - timedelta(hours=i % 5),
               checks=checks(mistake), curves=curves(-13 - i % 4))


def url(assignment, name="dashboard"):
    return reverse(name, args=[assignment.course.slug, assignment.slug])


def test_a_named_mistake_is_counted_once_per_student(course, assignment):
    class_of(course, assignment, 9)
    data = stats.assignment_dashboard(assignment)
    assert data["checks"]["q_update"]["mistakes"] == {"gamma_missing": {"ever": 3, "now": 3}}


def test_a_mistake_fixed_later_counts_as_ever_but_not_now(course, assignment, alice):
    now = timezone.now()
    graded(assignment, alice, score=70, at=now - timedelta(hours=2), checks=checks("gamma_missing"))
    graded(assignment, alice, score=100, at=now - timedelta(hours=1), checks=checks())
    data = stats.assignment_dashboard(assignment)
    assert data["checks"]["q_update"]["mistakes"]["gamma_missing"] == {"ever": 1, "now": 0}


def test_the_pass_rate_is_over_the_counting_submissions(course, assignment):
    class_of(course, assignment, 9)
    entry = stats.assignment_dashboard(assignment)["checks"]["q_update"]
    assert (entry["passed"], entry["total"]) == (6, 9)


def test_submitted_and_missing_students_are_counted(course, assignment, alice):
    class_of(course, assignment, 4)
    data = stats.assignment_dashboard(assignment)
    assert (data["submitted"], data["enrolled"], [r["username"] for r in data["missing"]]) == (4, 5, ["alice"])


def test_mean_and_median_are_of_the_scores_that_count(course, assignment):
    class_of(course, assignment, 3)  # 70, 100, 100
    data = stats.assignment_dashboard(assignment)
    assert (data["mean"], data["median"]) == (90.0, 100.0)


def test_the_histogram_holds_every_counting_score(course, assignment):
    class_of(course, assignment, 9)
    assert sum(stats.assignment_dashboard(assignment)["histogram"]["counts"]) == 9


def test_the_class_curve_is_the_iqm_across_students_with_a_band_around_it(course, assignment):
    class_of(course, assignment, 12)
    curve = stats.assignment_dashboard(assignment)["curve"]
    assert curve["students"] == 12
    assert all(lo <= mid <= hi for lo, mid, hi in zip(curve["low"], curve["iqm"], curve["high"], strict=True))


def test_the_iqm_ignores_the_outer_quarters():
    assert stats.iqm(np.array([-1000.0, 1.0, 2.0, 1000.0])) == 1.5


def test_a_run_stopped_early_holds_its_last_value():
    from server.submissions.services import curve_summary

    summary = curve_summary([{"episode_returns": [1.0, 2.0]}, {"episode_returns": [1.0, 2.0, 3.0]}])
    assert summary["mean"] == [1.0, 2.0, 2.5]


def test_the_iqm_matches_scipys_trimmed_mean():
    from scipy.stats import trim_mean

    values = np.random.default_rng(0).normal(size=(41, 7))
    assert np.allclose(stats.iqm(values, axis=0), trim_mean(values, 0.25, axis=0))


def test_grading_health_counts_the_queue_and_errors_by_reason(course, assignment, alice, bob):
    graded(assignment, alice, score=0, at=timezone.now(), status="error", error="The sandbox timed out.\ndetails")
    graded(assignment, bob, score=0, at=timezone.now(), status="queued")
    health = stats.assignment_dashboard(assignment)["health"]
    assert (health["queued"], health["errors"]) == (1, [("The sandbox timed out.", 1)])


def test_the_page_shows_the_named_mistake_with_its_count(client, irene, course, assignment):
    class_of(course, assignment, 9)
    client.force_login(irene)
    page = html.unescape(client.get(url(assignment)).content.decode())
    assert 'id="mistake-gamma_missing" data-now="3" data-ever="3"' in page


def test_each_students_row_links_to_their_submissions(client, irene, course, assignment):
    class_of(course, assignment, 2)
    client.force_login(irene)
    page = html.unescape(client.get(url(assignment)).content.decode())
    assert f"{assignment.get_absolute_url()}?student=s001" in page


def test_an_instructor_filters_the_assignment_page_by_student(client, irene, course, assignment):
    class_of(course, assignment, 2)
    client.force_login(irene)
    page = client.get(assignment.get_absolute_url() + "?student=s001").content.decode()
    assert "Submissions of s001" in page
    assert ">s000<" not in page


def test_the_course_page_gives_an_instructor_one_line_per_assignment(client, irene, course, assignment):
    class_of(course, assignment, 3)
    client.force_login(irene)
    page = client.get(reverse("course", args=[course.slug])).content.decode()
    assert 'id="overview-qlearning-cliffwalking"' in page
    assert "3 / 3" in page


def test_the_course_page_shows_a_student_their_own_assignments(client, alice, course, assignment):
    client.force_login(alice)
    page = client.get(reverse("course", args=[course.slug])).content.decode()
    assert 'id="mine-qlearning-cliffwalking"' in page
    assert 'id="overview' not in page


@pytest.mark.parametrize("name", ["dashboard", "assignment_settings"])
@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_instructor_pages_are_403_for_a_student_and_an_outsider(client, request, assignment, name, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(assignment, name)).status_code == 403


def test_the_course_page_is_403_for_an_outsider(client, charlie, course):
    client.force_login(charlie)
    assert client.get(reverse("course", args=[course.slug])).status_code == 403


def test_another_courses_dashboard_is_403_not_404(client, alice, course, assignment):
    from server.courses.models import Assignment, Course

    other = Course.objects.create(slug="other", title="Other")
    Assignment.objects.create(course=other, slug="qlearning-cliffwalking", title="Q")
    client.force_login(alice)
    assert client.get(reverse("dashboard", args=["other", "qlearning-cliffwalking"])).status_code == 403
    assert client.get(reverse("dashboard", args=["nope", "qlearning-cliffwalking"])).status_code == 403


def _queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["dashboard", "course", "gradebook"])
def test_the_number_of_queries_does_not_grow_with_the_class(client, irene, course, assignment, page):
    client.force_login(irene)
    path = url(assignment) if page == "dashboard" else reverse(page, args=[course.slug])
    class_of(course, assignment, 4)
    small = _queries(client, path)
    class_of_more = [student(course, f"t{i:03d}") for i in range(20)]
    for i, who in enumerate(class_of_more):
        graded(assignment, who, score=50, at=timezone.now(), checks=checks("gamma_missing" if i % 2 else None),
               curves=curves(-20))
    assert _queries(client, path) == small


@pytest.mark.parametrize("name", ["dashboard", "assignment_settings"])
def test_an_instructor_of_another_course_gets_403(client, course, assignment, name):
    from server.courses.models import Course, Enrolment

    other = Course.objects.create(slug="other", title="Other")
    stranger = student(other, "olga")
    Enrolment.objects.filter(user=stranger).update(role=Enrolment.INSTRUCTOR)
    client.force_login(stranger)
    assert client.get(url(assignment, name)).status_code == 403
    assert client.get(reverse("gradebook", args=[course.slug])).status_code == 403


def test_a_flagged_learning_curve_is_listed_for_review(client, irene, course, assignment, alice, bob):
    flag = "run 1: at full credit (500) before any learning; no credit given"
    flagged = graded(assignment, alice, score=60, at=timezone.now(), checks=[
        ("learning_curve", "failed", 0.0, 40.0, {"value": 0.0, "flags": [flag]})])
    graded(assignment, bob, score=100, at=timezone.now(), checks=checks())
    listed = stats.assignment_dashboard(assignment)["flagged"]
    assert [(f["student"], f["flags"]) for f in listed] == [("alice", [flag])]
    client.force_login(irene)
    page = html.unescape(client.get(url(assignment)).content.decode())
    assert f'href="{flagged.get_absolute_url()}">#{flagged.pk}</a> alice, learning_curve: {flag}' in page
