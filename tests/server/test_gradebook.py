"""The gradebook CSV: the same bytes on the page and from `manage.py gradebook`, read back as written."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse

from server.courses.models import Assignment
from tests.server.factories import graded, student

pytestmark = pytest.mark.django_db
DUE = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)


@pytest.fixture
def book(course, assignment, alice, bob):
    assignment.due_at, assignment.late_policy, assignment.late_penalty_percent = DUE, Assignment.LATE_PENALTY, 10
    assignment.save()
    graded(assignment, alice, score=90, at=DUE + timedelta(hours=30))  # two days late: 72
    graded(assignment, bob, score=60, at=DUE - timedelta(hours=1))
    return course


def read(text: str) -> list[dict]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def download(client, course) -> str:
    return client.get(reverse("gradebook", args=[course.slug])).content.decode("utf-8")


def test_the_columns_are_the_documented_ones(client, irene, book):
    client.force_login(irene)
    header = download(client, book)[1:].splitlines()[0]
    assert header == "username,email,first_name,last_name,qlearning-cliffwalking,qlearning-cliffwalking_late_days"


def test_a_late_score_counts_after_its_penalty(client, irene, book):
    client.force_login(irene)
    rows = {r["username"]: r for r in read(download(client, book))}
    assert (rows["alice"]["qlearning-cliffwalking"], rows["alice"]["qlearning-cliffwalking_late_days"]) == ("72", "2")


def test_an_on_time_score_counts_as_it_is(client, irene, book):
    client.force_login(irene)
    rows = {r["username"]: r for r in read(download(client, book))}
    assert (rows["bob"]["qlearning-cliffwalking"], rows["bob"]["qlearning-cliffwalking_late_days"]) == ("60", "0")


def test_a_student_without_a_submission_has_empty_cells(client, irene, book):
    student(book, "zoe")
    client.force_login(irene)
    rows = {r["username"]: r for r in read(download(client, book))}
    assert rows["zoe"]["qlearning-cliffwalking"] == ""


def test_instructors_are_not_rows_of_the_gradebook(client, irene, book):
    client.force_login(irene)
    assert "irene" not in {r["username"] for r in read(download(client, book))}


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)"])
def test_a_cell_that_would_run_as_a_formula_is_escaped(client, irene, book, name):
    student(book, "mallory", first_name=name)
    client.force_login(irene)
    rows = {r["username"]: r for r in read(download(client, book))}
    assert rows["mallory"]["first_name"] == "'" + name


def test_non_ascii_names_survive_the_round_trip(client, irene, book):
    student(book, "zoe", first_name="Zoë", last_name="Łukasiewicz")
    client.force_login(irene)
    rows = {r["username"]: r for r in read(download(client, book))}
    assert (rows["zoe"]["first_name"], rows["zoe"]["last_name"]) == ("Zoë", "Łukasiewicz")


def test_the_command_prints_the_same_csv_as_the_page(client, irene, book):
    client.force_login(irene)
    out = io.StringIO()
    call_command("gradebook", book.slug, stdout=out)
    assert out.getvalue() == download(client, book)


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_the_gradebook_is_403_for_a_student_and_an_outsider(client, who, request, book):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("gradebook", args=[book.slug])).status_code == 403


def test_a_guessed_course_that_does_not_exist_is_403_too(client, alice, book):
    client.force_login(alice)
    assert client.get(reverse("gradebook", args=["no-such-course"])).status_code == 403
