"""The roster: a CSV imported on the page or with `manage.py roster_import`, all or nothing."""
import html
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse

from server.courses.models import Enrolment
from server.courses.services import MembershipError, RosterError, enrolment_change, roster_import, roster_parse

pytestmark = pytest.mark.django_db
User = get_user_model()

ROSTER = ("username,email,first_name,last_name,role\n"
          "sam,sam@uni.example,Sam,Okafor,student\n"
          "tess,tess@uni.example,Tess,Dubois,student\n"
          "tam,tam@uni.example,Tam,Ng,instructor\n")


def upload(client, course, data: bytes):
    f = io.BytesIO(data)
    f.name = "roster.csv"
    return client.post(reverse("roster", args=[course.slug]), {"file": f})


def members(course):
    return dict(course.enrolments.values_list("user__username", "role"))


def test_an_import_creates_accounts_and_enrolments(course):
    roster_import(course=course, data=ROSTER.encode(), max_bytes=10_000)
    assert members(course) == {"sam": "student", "tess": "student", "tam": "instructor"}


def test_a_new_account_has_no_password_until_its_link_is_followed(course, client):
    result = roster_import(course=course, data=ROSTER.encode(), max_bytes=10_000)
    user, link = result.created[0]
    assert not user.has_usable_password()
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "a-long-passphrase-42",
                                                   "new_password2": "a-long-passphrase-42"})
    assert client.login(request=RequestFactory().post("/login/"), username=user.username,
                        password="a-long-passphrase-42")


def test_re_importing_the_same_file_changes_nothing(course):
    roster_import(course=course, data=ROSTER.encode(), max_bytes=10_000)
    again = roster_import(course=course, data=ROSTER.encode(), max_bytes=10_000)
    assert (len(again.created), len(again.updated), again.unchanged) == (0, 0, 3)
    assert User.objects.filter(username="sam").count() == 1


def test_re_importing_updates_an_email_and_a_role(course):
    roster_import(course=course, data=ROSTER.encode(), max_bytes=10_000)
    changed = ROSTER.replace("sam@uni.example,Sam,Okafor,student", "sam@new.example,Sam,Okafor,instructor")
    roster_import(course=course, data=changed.encode(), max_bytes=10_000)
    assert (User.objects.get(username="sam").email, members(course)["sam"]) == ("sam@new.example", "instructor")


@pytest.mark.parametrize("bad_line, message", [
    ("sam,other@uni.example,S,O,student", "Line 5: username 'sam' is already on line 2."),
    ("zed,not-an-email,Z,Z,student", "Line 5: e-mail 'not-an-email' is not a valid address."),
    ("zed,zed@uni.example,Z,Z,professor", "Line 5: role 'professor' is not one of student, instructor, ta."),
    ("zed zed,zed@uni.example,Z,Z,student", "Line 5: username 'zed zed' is not valid"),
    ("zed,zed@uni.example,Z,Z,student,extra", "Line 5: more cells than the header has columns."),
])
def test_a_bad_row_is_named_by_its_line_and_nothing_is_applied(course, bad_line, message):
    with pytest.raises(RosterError) as caught:
        roster_import(course=course, data=(ROSTER + bad_line + "\n").encode(), max_bytes=10_000)
    assert any(p.startswith(message) for p in caught.value.problems), caught.value.problems
    assert members(course) == {}


def test_a_header_without_the_columns_is_refused(course):
    with pytest.raises(RosterError, match="Line 1: the header must name the columns"):
        roster_parse(b"name,mail\nsam,sam@uni.example\n", max_bytes=10_000)


def test_a_bom_and_semicolons_as_excel_writes_them_are_read(course):
    excel = "\ufeff" + ROSTER.replace(",", ";").replace("\n", "\r\n")
    roster_import(course=course, data=excel.encode("utf-8"), max_bytes=10_000)
    assert set(members(course)) == {"sam", "tess", "tam"}


def test_a_file_that_is_not_utf8_is_refused_with_how_to_save_it(course):
    with pytest.raises(RosterError, match="save it as 'CSV UTF-8'"):
        roster_parse(ROSTER.replace("Dubois", "Dubo\u00efs").encode("latin-1"), max_bytes=10_000)


def test_the_page_imports_and_shows_each_new_accounts_link(client, irene, course):
    client.force_login(irene)
    page = html.unescape(upload(client, course, ROSTER.encode()).content.decode())
    assert "3 new accounts" in page
    assert page.count("/reset/") == 3


def test_the_page_lists_every_problem_and_imports_nothing(client, irene, course):
    client.force_login(irene)
    bad = ROSTER + "sam,x@uni.example,S,O,student\nzed,bad,Z,Z,ta\n"
    page = html.unescape(upload(client, course, bad.encode()).content.decode())
    assert "Nothing was imported" in page
    assert "Line 5:" in page
    assert "Line 6:" in page
    assert set(members(course)) == {"irene"}


def test_a_file_over_the_roster_limit_is_refused_with_the_limit(client, irene, course):
    client.force_login(irene)
    page = html.unescape(upload(client, course, ROSTER.encode() + b"x" * (2 * 1024 * 1024)).content.decode())
    assert "larger than the limit of 2.0" in page
    assert set(members(course)) == {"irene"}


def test_a_header_line_made_of_quotes_is_refused_without_reading_it_all(course):
    # The delimiter sniffer reads only its first kilobyte: on the whole of this line it took minutes.
    with pytest.raises(RosterError, match="the header must name the columns"):
        roster_parse((',"a' * 100_000).encode(), max_bytes=2 * 1024 * 1024)


def test_a_50_mb_file_is_refused_before_it_is_read(client, irene, course):
    client.force_login(irene)
    response = upload(client, course, ROSTER.encode() + b"x" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert "at most 2.2" in response.content.decode()
    assert set(members(course)) == {"irene"}


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_the_roster_is_403_for_a_student_and_an_outsider(client, who, request, course):
    client.force_login(request.getfixturevalue(who))
    assert upload(client, course, ROSTER.encode()).status_code == 403
    assert members(course).get("sam") is None


def test_the_command_imports_the_same_file(course, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    out = io.StringIO()
    call_command("roster_import", course.slug, str(path), stdout=out)
    assert out.getvalue().startswith("3 created, 0 updated, 0 unchanged")
    assert members(course)["tam"] == "instructor"


def test_the_command_reports_bad_lines_and_imports_nothing(course, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER + "zed,bad,Z,Z,student\n")
    with pytest.raises(CommandError, match="Line 5: e-mail 'bad'"):
        call_command("roster_import", course.slug, str(path))
    assert members(course) == {}


def test_an_instructor_changes_a_role_on_the_page(client, irene, alice, course):
    client.force_login(irene)
    client.post(reverse("roster", args=[course.slug]), {"action": "member", "username": "alice", "role": "instructor"})
    assert members(course)["alice"] == "instructor"


def test_an_instructor_removes_a_member_and_their_submissions_stay(client, irene, alice, course, assignment):
    from django.utils import timezone

    from tests.server.factories import graded

    graded(assignment, alice, score=50, at=timezone.now())
    client.force_login(irene)
    client.post(reverse("roster", args=[course.slug]), {"action": "member", "username": "alice", "role": "remove"})
    assert "alice" not in members(course)
    assert assignment.submissions.count() == 1


def test_the_last_instructor_cannot_leave(irene, course):
    with pytest.raises(MembershipError, match="at least one instructor"):
        enrolment_change(course=course, user=irene, role=Enrolment.STUDENT)


def test_the_roster_shows_an_address_that_refused_mail(client, irene, alice, course):
    from server.notifications.models import Suppression

    Suppression.objects.create(email="alice@uni.example", reason="550 no such user")
    client.force_login(irene)
    page = client.get(reverse("roster", args=[course.slug])).content.decode()
    assert 'title="550 no such user">e-mail refused' in page


def test_an_import_cannot_change_the_email_of_another_courses_account(client, irene, course):
    from server.courses.models import Course

    other = Course.objects.create(slug="other", title="Other")
    victim = User.objects.create_user(username="victor", email="victor@other.example", first_name="Victor")
    Enrolment.objects.create(course=other, user=victim, role=Enrolment.INSTRUCTOR)
    result = roster_import(course=course, data=b"username,email,first_name,last_name,role\n"
                                               b"Victor,attacker@evil.example,,,student\n", max_bytes=10_000)
    victim.refresh_from_db()
    assert (victim.email, victim.first_name, result.kept) == ("victor@other.example", "Victor", [victim])


def test_usernames_match_whatever_their_case(course):
    roster_import(course=course, data=ROSTER.encode(), max_bytes=10_000)
    roster_import(course=course, data=ROSTER.replace("sam,", "Sam,").encode(), max_bytes=10_000)
    assert User.objects.filter(username__iexact="sam").count() == 1


def test_an_import_cannot_leave_the_course_without_an_instructor(irene, course):
    with pytest.raises(RosterError, match="without an instructor"):
        roster_import(course=course, data=b"username,email,first_name,last_name,role\n"
                                          b"irene,irene@uni.example,,,student\n", max_bytes=10_000)


# -- quoting as spreadsheets write it ----------------------------------------------------------------
# Written as a spreadsheet program saves "CSV UTF-8": a BOM, CRLF line ends, fields with a delimiter or a quote
# inside quoted, quotes doubled; and the same with semicolons, as it saves in languages with a decimal comma.
SPREADSHEET_NAMES = {"rob": ('Robert "Bob"', "Smith"), "oneil": ("Siobhan", "O'Neil, Jr."),
                     "ana": ("Ana María", "López; Pérez"), "zoe": ("Zoë", '"Quoted" Last')}


@pytest.mark.parametrize("name", ["roster_from_a_spreadsheet.csv", "roster_from_a_spreadsheet_semicolons.csv"])
def test_a_roster_saved_by_a_spreadsheet_keeps_quotes_and_delimiters_inside_names(course, name):
    from tests.conftest import ROOT

    roster_import(course=course, data=(ROOT / "tests/server/data" / name).read_bytes(), max_bytes=10_000)
    got = {u.username: (u.first_name, u.last_name) for u in User.objects.filter(username__in=SPREADSHEET_NAMES)}
    assert got == SPREADSHEET_NAMES


def test_names_round_trip_through_the_csv_writer(course):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "email", "first_name", "last_name", "role"])
    for username, (first, last) in SPREADSHEET_NAMES.items():
        writer.writerow([username, f"{username}@uni.example", first, last, "student"])
    rows = roster_parse(out.getvalue().encode(), max_bytes=10_000)
    assert {r["username"]: (r["first_name"], r["last_name"]) for r in rows} == SPREADSHEET_NAMES
