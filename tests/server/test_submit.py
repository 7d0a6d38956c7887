"""The upload form, the pages and who may see what (Django test client; grading is not run here)."""
import io
import re

import pytest
from django.urls import reverse

from server.submissions.models import Submission
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.django_db


def upload(client, assignment, name, data):
    f = io.BytesIO(data)
    f.name = name
    return client.post(reverse("assignment", args=[assignment.course.slug, assignment.slug]), {"file": f})


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_it_stores_an_upload_and_queues_it_on_commit(as_alice, assignment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(as_alice, assignment, "solution.py", (EXAMPLES / "passes_all.py").read_bytes())
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response.url == submission.get_absolute_url()
    assert submission.status == Submission.QUEUED
    assert submission.source.startswith('"""Warm-up')
    assert len(callbacks) == 1  # the grading task, sent only once the row is committed


def test_a_notebook_is_stored_as_its_code(as_alice, assignment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        upload(as_alice, assignment, "t.ipynb",
               (EXAMPLES.parent / "template.ipynb").read_bytes())
    submission = Submission.objects.get()
    assert "# --- cell 3 ---" in submission.source
    assert submission.filename == "t.ipynb"


@pytest.mark.parametrize("name, data, message", [
    ("solution.txt", b"x = 1", "is not a .py or .ipynb file"),
    ("solution.py", b"", "The submitted file is empty"),
    ("solution.py", b"\xff\xfe\x00bad", "is not UTF-8"),
    ("solution.ipynb", b'{"cells": [', "is not a valid Jupyter notebook"),
])
def test_bad_files_are_refused_on_the_form_and_nothing_is_stored(as_alice, assignment, name, data, message):
    response = upload(as_alice, assignment, name, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Submission.objects.count() == 0


def test_a_file_over_the_limit_is_refused_with_the_limit(as_alice, assignment, settings):
    settings.BELLMAN_MAX_UPLOAD_BYTES = 10_000
    response = upload(as_alice, assignment, "big.py", b"# " + b"x" * 50_000)
    page = response.content.decode()
    assert response.status_code == 200
    assert "larger than the limit of 9.8\xa0KB" in page
    assert Submission.objects.count() == 0


def test_the_form_states_the_size_limit(as_alice, assignment):
    page = as_alice.get(assignment.get_absolute_url()).content.decode()
    assert "at most 1.0\xa0MB" in page


def test_a_closed_assignment_takes_no_submissions(as_alice, assignment):
    assignment.is_open = False
    assignment.save()
    upload(as_alice, assignment, "s.py", b"x = 1\n")
    assert Submission.objects.count() == 0


def test_an_outsider_gets_403_on_the_assignment_and_404_on_a_submission(client, charlie, alice, assignment):
    mine = Submission.objects.create(assignment=assignment, student=alice, filename="s.py", original=b"x", source="x")
    client.force_login(charlie)
    assert client.get(assignment.get_absolute_url()).status_code == 403
    assert client.get(mine.get_absolute_url()).status_code == 404


def test_an_outsider_learns_nothing_from_a_guessed_assignment_url(client, charlie, alice, assignment):
    client.force_login(charlie)
    course = assignment.course.slug
    assert client.get(f"/c/{course}/{assignment.slug}/").status_code == 403
    assert client.get(f"/c/{course}/no-such-assignment/").status_code == 403
    assert client.get("/c/no-such-course/no-such-assignment/").status_code == 403
    client.force_login(alice)  # enrolled: an unknown assignment of her own course is simply not there
    assert client.get(f"/c/{course}/no-such-assignment/").status_code == 404


def test_a_student_cannot_see_another_students_submission(client, alice, bob, assignment):
    theirs = Submission.objects.create(assignment=assignment, student=bob, filename="s.py", original=b"x", source="x")
    client.force_login(alice)
    assert client.get(theirs.get_absolute_url()).status_code == 404


def test_another_students_submission_and_none_at_all_look_the_same(client, alice, bob, assignment):
    """The page does not say which ids exist: the same status and the same page for both."""
    theirs = Submission.objects.create(assignment=assignment, student=bob, filename="s.py", original=b"x", source="x")
    client.force_login(alice)
    taken, free = client.get(theirs.get_absolute_url()), client.get(f"/submissions/{theirs.pk + 1000}/")
    assert taken.status_code == free.status_code == 404
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')  # a fresh token on every page
    assert token.sub(b"", taken.content) == token.sub(b"", free.content)


def test_the_instructor_sees_every_submission(client, irene, alice, bob, assignment):
    for student in (alice, bob):
        Submission.objects.create(assignment=assignment, student=student, filename="s.py", original=b"x", source="x")
    client.force_login(irene)
    page = client.get(assignment.get_absolute_url()).content.decode()
    assert "All submissions" in page
    assert "alice" in page
    assert "bob" in page
    assert client.get(Submission.objects.first().get_absolute_url()).status_code == 200


def test_a_student_sees_only_their_own_history(client, alice, bob, assignment):
    Submission.objects.create(assignment=assignment, student=bob, filename="bobs.py", original=b"x", source="x")
    client.force_login(alice)
    assert "bobs.py" not in client.get(assignment.get_absolute_url()).content.decode()


def test_pages_need_a_login(client, assignment):
    response = client.get(assignment.get_absolute_url())
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_templates_can_be_downloaded_but_nothing_else(as_alice, assignment):
    ok = as_alice.get(reverse("template", args=["rl", assignment.slug, "template.py"]))
    assert ok.status_code == 200
    assert b"def q_update" in b"".join(ok.streaming_content)
    assert as_alice.get(reverse("template", args=["rl", assignment.slug, "reference.py"])).status_code == 404
    assert as_alice.get(reverse("template", args=["rl", assignment.slug, "checks.py"])).status_code == 404


def test_a_pending_submission_page_refreshes_itself(as_alice, alice, assignment):
    s = Submission.objects.create(assignment=assignment, student=alice, filename="s.py", original=b"x", source="x",
                                  status=Submission.QUEUED)
    page = as_alice.get(s.get_absolute_url()).content.decode()
    assert 'http-equiv="refresh"' in page
    assert 'data-status="queued"' in page


def test_student_text_is_escaped_on_the_results_page(as_alice, alice, assignment):
    s = Submission.objects.create(
        assignment=assignment, student=alice, filename="<script>x</script>.py", original=b"x", source="x",
        status=Submission.GRADED, score=0, max_score=100,
        report={"checks": [], "curves": [], "output_tail": "<img src=x onerror=alert(1)>", "notices": []})
    page = as_alice.get(s.get_absolute_url()).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page
    assert "<script>x" not in page


def test_the_admin_shows_an_instructor_only_their_courses(client, irene, alice, assignment):
    from server.courses.models import Assignment, Course
    from server.courses.services import enrolment_set

    other = Course.objects.create(slug="other", title="Other")
    other_assignment = Assignment.objects.create(course=other, slug="qlearning-cliffwalking", title="x")
    Submission.objects.create(assignment=assignment, student=alice, filename="mine.py", original=b"x", source="x")
    Submission.objects.create(assignment=other_assignment, student=alice, filename="theirs.py", original=b"x",
                              source="x")
    enrolment_set(course=assignment.course, user=irene, role="instructor")  # makes her staff, view-only
    client.force_login(irene)
    page = client.get("/admin/submissions/submission/").content.decode()
    assert "1 submission" in page


def test_an_instructor_can_view_but_not_change_submissions_in_the_admin(client, irene, alice, assignment):
    from server.courses.services import enrolment_set

    s = Submission.objects.create(assignment=assignment, student=alice, filename="s.py", original=b"x", source="x")
    enrolment_set(course=assignment.course, user=irene, role="instructor")
    client.force_login(irene)
    assert client.get(f"/admin/submissions/submission/{s.pk}/change/").status_code == 200
    assert client.post(f"/admin/submissions/submission/{s.pk}/delete/", {"post": "yes"}).status_code == 403
    client.force_login(alice)
    assert client.get("/admin/submissions/submission/").status_code == 302  # students are not staff


# -- one throttle for both doors --------------------------------------------------------------------------
@pytest.fixture
def two_a_minute(settings):
    from django.core.cache import cache

    cache.clear()
    settings.BELLMAN_API_RATE_SUBMIT = "2/min"
    yield
    cache.clear()


def test_the_upload_form_refuses_a_flood_with_429_and_stores_nothing_more(two_a_minute, as_alice, assignment):
    data = (EXAMPLES / "passes_all.py").read_bytes()
    statuses = [upload(as_alice, assignment, "passes_all.py", data).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Submission.objects.count() == 2


def test_the_form_says_how_long_to_wait(two_a_minute, as_alice, assignment):
    data = (EXAMPLES / "passes_all.py").read_bytes()
    for _ in range(2):
        upload(as_alice, assignment, "passes_all.py", data)
    refused = upload(as_alice, assignment, "passes_all.py", data)
    assert "Too many submissions for now (at most 2 submissions a minute)" in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_form_and_the_api_share_one_count(two_a_minute, as_alice, alice, assignment):
    from django.test import Client

    from server.api.tokens import token_create

    data = (EXAMPLES / "passes_all.py").read_bytes()
    for _ in range(2):
        upload(as_alice, assignment, "passes_all.py", data)
    _, token = token_create(alice, "laptop")
    f = io.BytesIO(data)
    f.name = "passes_all.py"
    refused = Client().post(f"/api/v1/courses/rl/assignments/{assignment.slug}/submissions", {"file": f},
                            HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"


def test_a_bad_file_does_not_use_up_the_budget(two_a_minute, as_alice, assignment):
    for _ in range(3):
        upload(as_alice, assignment, "notes.txt", b"not python \\x00")
    assert upload(as_alice, assignment, "passes_all.py", (EXAMPLES / "passes_all.py").read_bytes()).status_code == 302
