"""The JSON API (/api/v1/): who may call what (the pages' rules, endpoint by endpoint), the upload
form's rules and messages, errors with stable codes, throttling, hidden checks, the schema kept in
docs/api.md, and one submission graded end to end by a real worker."""
import io
import re
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from server.api.api import api
from server.api.models import ApiToken
from server.api.tokens import token_create, token_revoke
from server.courses import grades
from server.courses.models import Course, Enrolment
from server.submissions.models import Submission
from server.submissions.visibility import student_report
from tests.conftest import EXAMPLES, ROOT, _user
from tests.server import factories

pytestmark = pytest.mark.django_db

ASSIGNMENT = "/api/v1/courses/rl/assignments/qlearning-cliffwalking"
PASSES = (EXAMPLES / "passes_all.py").read_bytes()


@pytest.fixture(autouse=True)
def fresh_rates(settings):
    """Throttle counts live in the cache, which outlives a test's database: each test starts afresh, with
    rates no test reaches unless it sets its own."""
    cache.clear()
    settings.BELLMAN_API_RATE_READ = settings.BELLMAN_API_RATE_SUBMIT = "10000/min"
    settings.BELLMAN_BASE_URL = "https://grader.example.edu"
    yield
    cache.clear()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def as_token(user) -> dict:
    return bearer(token_create(user, "tests")[1])


def upload(client, path, data=PASSES, name="solution.py", **headers):
    f = io.BytesIO(data)
    f.name = name
    return client.post(path, {"file": f}, **headers)


@pytest.fixture
def dora(db):
    """A student of another course."""
    other = Course.objects.create(slug="ml", title="Machine Learning")
    other.assignments.create(slug="qlearning-cliffwalking", title="Warm-up elsewhere")
    return _user(other, "dora", Enrolment.STUDENT)


# -- every endpoint, every persona: the pages' permissions -------------------------------------------
# Each endpoint (method, path as in the schema) with its rule and the page whose permission it must
# share. A new endpoint without an entry here fails test_every_endpoint_has_a_rule.
ENDPOINTS = {
    ("GET", "/api/v1/courses"): ("anyone", "GET", "/"),
    ("GET", "/api/v1/courses/{course}/assignments/{slug}"): ("member", "GET", "/c/rl/qlearning-cliffwalking/"),
    ("GET", "/api/v1/courses/{course}/assignments/{slug}/submissions"): (
        "member", "GET", "/c/rl/qlearning-cliffwalking/"),
    ("POST", "/api/v1/courses/{course}/assignments/{slug}/submissions"): (
        "member", "POST", "/c/rl/qlearning-cliffwalking/"),
    ("GET", "/api/v1/submissions/{submission_id}"): ("owner", "GET", "/submissions/{submission_id}/"),
    ("GET", "/api/v1/courses/{course}/gradebook"): ("instructor", "GET", "/c/rl/gradebook.csv"),
    ("GET", "/api/v1/courses/{course}/assignments/{slug}/statistics"): (
        "instructor", "GET", "/c/rl/qlearning-cliffwalking/dashboard/"),
}
ALLOWED = {  # persona -> the rules it passes
    "alice": {"anyone", "member", "owner"},  # a student of the course, the submission's owner
    "bob": {"anyone", "member"},  # another student of the course
    "irene": {"anyone", "member", "owner", "instructor"},  # the course's instructor
    "charlie": {"anyone"},  # logged in, enrolled nowhere
    "dora": {"anyone"},  # a student of another course
    "anonymous": set(), "revoked": set(), "forged": set(),
}
REFUSED_AS = {"anonymous": "not_authenticated", "revoked": "token_revoked", "forged": "token_invalid"}


def schema_operations() -> set:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return {(method.upper(), "/api/v1" + path.removeprefix("/api/v1")) for path, ops in schema["paths"].items()
            for method in ops}


def test_every_endpoint_has_a_rule():
    assert schema_operations() == set(ENDPOINTS)


def _credentials(persona, users):
    """(headers for the API, the user the page is visited as or None)."""
    if persona == "anonymous":
        return {}, None
    if persona == "forged":
        return bearer("bm_" + "x" * 40), None
    if persona == "revoked":
        token, plaintext = token_create(users["alice"], "old laptop")
        token_revoke(token)
        return bearer(plaintext), None
    return as_token(users[persona]), users[persona]


def _page_allows(client, user, method, url) -> bool:
    client.logout()
    if user is not None:
        client.force_login(user)
    response = upload(client, url) if method == "POST" else client.get(url)
    client.logout()
    return response.status_code == 200 or (response.status_code == 302 and "/login/" not in response.url)


@pytest.mark.parametrize("persona", list(ALLOWED))
def test_each_persona_gets_from_each_endpoint_exactly_what_the_pages_give(persona, client, alice, bob, irene,
                                                                          charlie, dora, assignment):
    users = {"alice": alice, "bob": bob, "irene": irene, "charlie": charlie, "dora": dora}
    mine = factories.graded(assignment, alice, score=70, at=timezone.now())
    headers, page_user = _credentials(persona, users)
    for (method, path), (rule, page_method, page) in ENDPOINTS.items():
        url = path.format(course="rl", slug="qlearning-cliffwalking", submission_id=mine.pk)
        response = upload(Client(), url, **headers) if method == "POST" else Client().get(url, **headers)
        allowed = rule in ALLOWED[persona]
        where = f"{persona} {method} {path}: {response.status_code} {response.content[:200]!r}"
        assert (response.status_code < 400) == allowed, where
        assert _page_allows(client, page_user, page_method, page.format(submission_id=mine.pk)) == allowed, \
            f"{persona}: the page {page} disagrees with the rule {rule!r}"
        if not allowed:
            body = response.json()
            assert set(body) == {"code", "message"}, where
            assert body["message"], where
            expected = REFUSED_AS.get(persona) or ("not_found" if rule == "owner" else "forbidden")
            assert body["code"] == expected, where


# -- tokens and the account page -------------------------------------------------------------------
def test_the_account_page_creates_a_token_shown_once_and_stores_only_its_digest(client, alice):
    client.force_login(alice)
    page = client.post("/account/tokens/", {"name": "Colab"})
    plaintext = re.search(r'value="(bm_[^"]+)"', page.content.decode()).group(1)
    assert page["Cache-Control"] == "no-store"
    assert "shown only this once" in page.content.decode()
    row = ApiToken.objects.get()
    assert row.name == "Colab"
    assert row.prefix == plaintext[:8]
    assert plaintext not in str(vars(row))
    again = client.get("/account/tokens/").content.decode()
    assert plaintext not in again
    assert f"{plaintext[:8]}&hellip;" in again
    assert Client().get("/api/v1/courses", **bearer(plaintext)).status_code == 200


def test_the_account_page_needs_a_login_and_is_linked_from_the_header(client, alice):
    assert client.get("/account/tokens/").status_code == 302
    client.force_login(alice)
    assert 'href="/account/tokens/"' in client.get("/").content.decode()


def test_a_token_is_revoked_on_the_account_page_with_a_post_and_its_csrf_token(alice):
    token, plaintext = token_create(alice, "laptop")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.post(f"/account/tokens/{token.pk}/revoke/").status_code == 403  # no CSRF token
    assert browser.get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    page = browser.get("/account/tokens/")
    response = browser.post(f"/account/tokens/{token.pk}/revoke/", {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert response.status_code == 302
    refused = Client().get("/api/v1/courses", **bearer(plaintext))
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_revoked"


def test_nobody_revokes_another_persons_token(client, alice, bob):
    token, plaintext = token_create(alice, "laptop")
    client.force_login(bob)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert Client().get("/api/v1/courses", **bearer(plaintext)).status_code == 200


@pytest.mark.parametrize("header", ["Bearer bm_forged0000000000000000000000000000000000", "Bearer ",
                                    "Basic YWxpY2U6cHc=", "Token abc", "Bearer " + "x" * 5000])
def test_a_forged_or_malformed_token_is_refused_with_token_invalid(alice, header):
    response = Client().get("/api/v1/courses", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_bad_token_is_refused_even_with_a_valid_session(client, alice):
    client.force_login(alice)
    response = client.get("/api/v1/courses", **bearer("bm_forged"))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_token_acts_as_its_owner_whoever_is_logged_in(client, alice, bob):
    client.force_login(bob)
    courses = client.get("/api/v1/courses", **as_token(alice)).json()
    latest = courses[0]["assignments"][0]
    assert latest["can_submit"]["allowed"]
    assert (upload(client, ASSIGNMENT + "/submissions", **as_token(alice)).json()[
        "student"] == "alice")


def test_the_session_serves_the_sites_pages_and_its_posts_need_the_csrf_token(alice, assignment):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get("/api/v1/courses").status_code == 200
    refused = upload(browser, ASSIGNMENT + "/submissions")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert "CSRF" in refused.json()["message"]
    assert Submission.objects.count() == 0
    browser.get("/account/tokens/")
    accepted = upload(browser, ASSIGNMENT + "/submissions", HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert accepted.status_code == 201


def test_a_token_needs_no_csrf_token(alice, assignment):
    response = upload(Client(enforce_csrf_checks=True), ASSIGNMENT + "/submissions", **as_token(alice))
    assert response.status_code == 201


def test_a_tokens_last_use_shows_on_the_account_page(client, alice):
    token, plaintext = token_create(alice, "laptop")
    client.force_login(alice)
    assert '<td class="last-used">never</td>' in client.get("/account/tokens/").content.decode()
    Client().get("/api/v1/courses", **bearer(plaintext))
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert '<td class="last-used">never</td>' not in client.get("/account/tokens/").content.decode()


# -- another course, unknown things: nothing leaks --------------------------------------------------
def test_another_courses_student_sees_only_their_course_and_gets_the_same_403_for_ours_as_for_none(dora, alice,
                                                                                                 assignment):
    headers = as_token(dora)
    assert [c["slug"] for c in Client().get("/api/v1/courses", **headers).json()] == ["ml"]
    ours = Client().get(ASSIGNMENT, **headers)
    none = Client().get("/api/v1/courses/nosuchcourse/assignments/qlearning-cliffwalking", **headers)
    assert ours.status_code == none.status_code == 403
    assert ours.json() == none.json()
    assert ours.json()["code"] == "forbidden"
    assert upload(Client(), ASSIGNMENT + "/submissions", **headers).status_code == 403
    assert Submission.objects.count() == 0


def test_an_unknown_assignment_of_my_course_is_404(alice, course):
    response = Client().get("/api/v1/courses/rl/assignments/nosuch", **as_token(alice))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_submission_of_someone_else_is_404_like_one_that_does_not_exist(alice, bob, assignment):
    theirs = factories.graded(assignment, bob, score=50, at=timezone.now())
    headers = as_token(alice)
    other, none = Client().get(f"/api/v1/submissions/{theirs.pk}", **headers), Client().get(
        f"/api/v1/submissions/{theirs.pk + 1000}", **headers)
    assert other.status_code == none.status_code == 404
    assert other.json()["code"] == none.json()["code"] == "not_found"


@pytest.mark.parametrize("method, path, status, code", [
    ("get", "/api/v1/nosuch", 404, "not_found"),
    ("delete", "/api/v1/courses", 405, "not_allowed"),
    ("get", "/api/v1/submissions/notanumber", 400, "bad_request"),
])
def test_paths_methods_and_parameters_the_api_does_not_have_answer_json(alice, method, path, status, code):
    response = getattr(Client(), method)(path, **as_token(alice))
    assert response.status_code == status
    assert response.json()["code"] == code


# -- submitting: the form's rules, the form's messages ------------------------------------------------
def test_a_submission_is_stored_queued_and_answered_with_where_to_follow_it(alice, assignment,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(Client(), ASSIGNMENT + "/submissions", **as_token(alice))
    body, submission = response.json(), Submission.objects.get()
    assert response.status_code == 201
    assert len(callbacks) == 1
    assert response["Location"] == body["api_url"] == f"https://grader.example.edu/api/v1/submissions/{submission.pk}"
    assert body["url"] == f"https://grader.example.edu/submissions/{submission.pk}/"
    assert body["status"] == "queued"
    assert body["queue"]["position"] == 1
    assert body["report"] is None
    assert submission.student == alice
    assert submission.original == PASSES


def test_a_notebook_is_submitted_as_on_the_form(alice, assignment):
    notebook = (EXAMPLES.parent / "template.ipynb").read_bytes()
    response = upload(Client(), ASSIGNMENT + "/submissions", data=notebook, name="work.ipynb", **as_token(alice))
    assert response.status_code == 201
    assert "# --- cell 3 ---" in Submission.objects.get().source


def test_the_limit_is_429_with_retry_after_and_the_forms_message(client, alice, assignment):
    assignment.submission_limit, assignment.limit_window_hours = 1, 24
    assignment.save()
    headers = as_token(alice)
    assert upload(Client(), ASSIGNMENT + "/submissions", **headers).status_code == 201
    response = upload(Client(), ASSIGNMENT + "/submissions", **headers)
    verdict = grades.acceptance(assignment, alice, now=timezone.now())
    assert response.status_code == 429
    assert response.json() == {"code": "limit_reached", "message": verdict.reason}
    assert 24 * 3600 - 60 <= int(response["Retry-After"]) <= 24 * 3600
    client.force_login(alice)
    assert verdict.reason in upload(client, "/c/rl/qlearning-cliffwalking/").content.decode().replace("&#x27;", "'")
    assert Submission.objects.count() == 1


@pytest.mark.parametrize("change, words", [
    ({"is_open": False}, "This assignment is closed for submissions."),
    ({"late_policy": "cutoff", "due_at": timezone.now() - timedelta(hours=1)}, "takes no late submissions"),
    ({"due_at": timezone.now() - timedelta(days=2), "late_until": timezone.now() - timedelta(days=1)},
     "Submissions closed on"),
    ({"opens_at": timezone.now() + timedelta(days=1)}, "This assignment opens on"),
])
def test_a_closed_assignment_is_403_closed_with_the_forms_message(client, alice, assignment, change, words):
    for name, value in change.items():
        setattr(assignment, name, value)
    assignment.save()
    response = upload(Client(), ASSIGNMENT + "/submissions", **as_token(alice))
    assert response.status_code == 403
    assert response.json()["code"] == "closed"
    assert words in response.json()["message"]
    client.force_login(alice)
    assert response.json()["message"] in upload(client, "/c/rl/qlearning-cliffwalking/").content.decode()
    assert Submission.objects.count() == 0


def test_an_extension_lets_its_student_submit_after_the_cutoff(alice, irene, assignment):
    from server.courses.models import Extension

    assignment.late_policy, assignment.due_at = "cutoff", timezone.now() - timedelta(hours=1)
    assignment.save()
    Extension.objects.create(assignment=assignment, student=alice, due_at=timezone.now() + timedelta(days=1),
                             granted_by=irene)
    response = upload(Client(), ASSIGNMENT + "/submissions", **as_token(alice))
    assert response.status_code == 201
    assert response.json()["late"] is False
    detail = Client().get(ASSIGNMENT, **as_token(alice)).json()
    assert detail["extended"]
    assert detail["due_at"] > detail["class_due_at"]


def test_the_instructor_may_submit_to_a_closed_assignment_as_on_the_form(irene, assignment):
    assignment.is_open = False
    assignment.save()
    assert upload(Client(), ASSIGNMENT + "/submissions", **as_token(irene)).status_code == 201


def test_a_file_over_the_limit_is_413_with_the_forms_message_and_nothing_is_stored(client, alice, assignment,
                                                                                    settings):
    settings.BELLMAN_MAX_UPLOAD_BYTES = 10_000
    response = upload(Client(), ASSIGNMENT + "/submissions", data=b"# " + b"x" * 50_000, **as_token(alice))
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert response.json()["message"].startswith("The file is larger than the limit of 9.8\xa0KB.")
    client.force_login(alice)
    form = upload(client, "/c/rl/qlearning-cliffwalking/", data=b"# " + b"x" * 50_000).content.decode()
    assert "larger than the limit of 9.8\xa0KB" in form
    assert Submission.objects.count() == 0


def test_a_body_over_the_request_cap_is_refused_as_json_before_it_is_read(alice, assignment, settings):
    settings.BELLMAN_MAX_REQUEST_BYTES = 50_000
    response = upload(Client(), ASSIGNMENT + "/submissions", data=b"x" * 60_000, **as_token(alice))
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("name, data, words", [
    ("solution.ipynb", b'{"cells": [', "is not a valid Jupyter notebook"),
    ("solution.ipynb", b'{"cells": "not a list", "nbformat": 4}', "solution.ipynb"),
    ("solution.txt", b"x = 1", "is not a .py or .ipynb file"),
    ("solution.py", b"\xff\xfe\x00bad", "is not UTF-8"),
    ("solution.py", b"", "is empty"),
])
def test_a_bad_file_is_400_bad_file_with_the_normalisers_message_and_nothing_is_stored(alice, assignment, name,
                                                                                        data, words):
    response = upload(Client(), ASSIGNMENT + "/submissions", data=data, name=name, **as_token(alice))
    assert response.status_code == 400
    assert response.json()["code"] == "bad_file"
    assert words in response.json()["message"]
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("body, content_type", [
    ({"notfile": "x"}, None),
    ("--broken\r\nnot a multipart body", "multipart/form-data; boundary=broken"),
    ('{"file": "x = 1"}', "application/json"),
])
def test_a_malformed_request_is_400_bad_request_and_nothing_is_stored(alice, assignment, body, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    response = Client().post(ASSIGNMENT + "/submissions", body, **kwargs, **as_token(alice))
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "file" in response.json()["message"]
    assert Submission.objects.count() == 0


# -- throttling ---------------------------------------------------------------------------------------
def test_a_flood_of_reads_is_429_rate_limited_with_retry_after_per_user(settings, alice, bob, course):
    settings.BELLMAN_API_RATE_READ = "3/min"
    laptop, colab = as_token(alice), as_token(alice)
    assert [Client().get("/api/v1/courses", **h).status_code for h in (laptop, colab, laptop)] == [200, 200, 200]
    refused = Client().get("/api/v1/courses", **colab)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Client().get("/api/v1/courses", **as_token(bob)).status_code == 200  # bob has his own budget


def test_submissions_have_a_rate_of_their_own(settings, alice, assignment):
    settings.BELLMAN_API_RATE_SUBMIT = "2/min"
    headers = as_token(alice)
    statuses = [upload(Client(), ASSIGNMENT + "/submissions", **headers).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert Submission.objects.count() == 2
    assert Client().get("/api/v1/courses", **headers).status_code == 200


def test_a_cache_that_is_down_lets_requests_through(settings, alice, assignment, monkeypatch):
    from server.api.auth import RateThrottle
    from server.submissions.throttle import SubmitThrottle

    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("cache unreachable")

        set = get

    monkeypatch.setattr(RateThrottle, "cache", Down())
    monkeypatch.setattr(SubmitThrottle, "cache", Down())
    settings.BELLMAN_API_RATE_SUBMIT = "1/min"
    headers = as_token(alice)
    assert [upload(Client(), ASSIGNMENT + "/submissions", **headers).status_code for _ in range(2)] == [201, 201]


# -- what a student sees, what an instructor sees -------------------------------------------------------
CHECKS = [("epsilon_greedy", "passed", 30, 30, {}), ("q_update", "failed", 0, 30, {"mistake": "not_in_place"}),
          ("learning_curve", "passed", 40, 40, {"metric": "mean return", "value": -15.0, "threshold": -17.0})]


@pytest.fixture
def hidden_curve(assignment, alice):
    assignment.hidden_checks, assignment.due_at = ["learning_curve"], timezone.now() + timedelta(days=3)
    assignment.save()
    return factories.graded(assignment, alice, score=70, at=timezone.now(), checks=CHECKS,
                            curves=[{"label": "run 1", "episode_returns": [-100.0, -20.0]}])


def test_the_report_hides_hidden_checks_from_the_student_as_the_results_page_does(alice, assignment, hidden_curve):
    body = Client().get(f"/api/v1/submissions/{hidden_curve.pk}", **as_token(alice)).json()
    report = body["report"]
    curve = next(c for c in report["checks"] if c["id"] == "learning_curve")
    assert curve == {"id": "learning_curve", "status": "hidden", "score": None, "max_score": 40,
                     "feedback": "This check's result is shown after the due date.", "hidden": True}
    assert report["score"] == body["score"] == 30
    assert report["hidden_points"] == body["hidden_points"] == 40
    assert report["curves"] == []
    assert body["hidden_results"] is True
    assert "-15.0" not in str(body)
    assert "threshold" not in str(body)
    page = student_report(hidden_curve.report, hidden={"learning_curve"}, hide=True)
    assert report == page  # exactly what the results page renders


def test_the_instructor_sees_the_whole_report(irene, assignment, hidden_curve):
    body = Client().get(f"/api/v1/submissions/{hidden_curve.pk}", **as_token(irene)).json()
    assert body["report"] == hidden_curve.report
    assert body["score"] == 70
    assert body["hidden_results"] is False


def test_hidden_checks_show_once_the_students_due_date_has_passed(alice, assignment, hidden_curve):
    assignment.due_at = timezone.now() - timedelta(minutes=1)
    assignment.save()
    body = Client().get(f"/api/v1/submissions/{hidden_curve.pk}", **as_token(alice)).json()
    assert body["report"]["checks"][2]["status"] == "passed"
    assert body["score"] == 70


def test_course_lists_and_submission_lists_leave_hidden_points_out_of_the_score(alice, assignment, hidden_curve):
    headers = as_token(alice)
    latest = Client().get("/api/v1/courses", **headers).json()[0]["assignments"][0]
    assert latest["latest_submission"]["score"] == 30
    assert latest["latest_submission"]["hidden_points"] == 40
    assert latest["score_that_counts"] is None  # it includes the hidden check: not shown before the due date
    assert [c["hidden"] for c in latest["checks"]] == [False, False, True]
    listed = Client().get(ASSIGNMENT + "/submissions", **headers).json()
    assert [(s["id"], s["score"]) for s in listed] == [(hidden_curve.pk, 30)]


def test_the_report_is_the_clis_json_without_what_the_database_adds(alice, assignment):
    submission = factories.graded(assignment, alice, score=70, at=timezone.now(), checks=CHECKS)
    Submission.objects.filter(pk=submission.pk).update(report={**submission.report, "timings": {"normalise": 0.1}})
    report = Client().get(f"/api/v1/submissions/{submission.pk}", **as_token(alice)).json()["report"]
    assert "timings" not in report
    assert report["checks"][1]["details"] == {"mistake": "not_in_place"}


def test_a_student_lists_only_their_own_submissions_and_an_instructor_may_pick_one_student(alice, bob, irene,
                                                                                           assignment):
    for who in (alice, bob, bob):
        factories.graded(assignment, who, score=10, at=timezone.now())
    mine = Client().get(ASSIGNMENT + "/submissions?student=bob", **as_token(alice)).json()
    assert [s["student"] for s in mine] == ["alice"]  # ?student= is an instructor's filter, ignored as on the page
    everyone = Client().get(ASSIGNMENT + "/submissions", **as_token(irene)).json()
    bobs = Client().get(ASSIGNMENT + "/submissions?student=bob", **as_token(irene)).json()
    assert len(everyone) == 3
    assert [s["student"] for s in bobs] == ["bob", "bob"]


def test_the_gradebook_has_the_csvs_columns_and_numbers(irene, alice, bob, assignment):
    from server.dashboard.gradebook import gradebook_table

    factories.graded(assignment, alice, score=72.5, at=timezone.now())
    body = Client().get("/api/v1/courses/rl/gradebook", **as_token(irene)).json()
    header, rows = gradebook_table(assignment.course, folders={})
    assert body["columns"] == header == ["username", "email", "first_name", "last_name", "qlearning-cliffwalking",
                                         "qlearning-cliffwalking_late_days"]
    assert body["rows"] == [
        {"username": "alice", "email": "alice@uni.example", "first_name": "", "last_name": "",
         "qlearning-cliffwalking": 72.5, "qlearning-cliffwalking_late_days": 0},
        {"username": "bob", "email": "bob@uni.example", "first_name": "", "last_name": "",
         "qlearning-cliffwalking": None, "qlearning-cliffwalking_late_days": None}]


def test_the_statistics_are_the_dashboards_numbers(irene, alice, bob, assignment):
    factories.graded(assignment, alice, score=70, at=timezone.now(), checks=CHECKS,
                     curves=[{"label": "run 1", "episode_returns": [-100.0, -20.0]}])
    body = Client().get(ASSIGNMENT + "/statistics", **as_token(irene)).json()
    assert (body["enrolled"], body["submitted"], body["graded"], body["mean"]) == (2, 1, 1, 70.0)
    assert body["checks"]["q_update"]["mistakes"] == [{"id": "not_in_place", "ever": 1, "now": 1}]
    assert [m["username"] for m in body["missing"]] == ["bob"]
    assert {s["username"]: s["score"] for s in body["students"]} == {"alice": 70.0, "bob": None}


# -- the schema and docs/api.md ---------------------------------------------------------------------------
def documented_operations() -> set:
    text = (ROOT / "docs" / "api.md").read_text()
    block = re.search(r"<!-- endpoints: .*? -->\n```\n(.*?)```", text, re.S)
    assert block, "docs/api.md has no endpoints block"
    return {tuple(line.split()[:2]) for line in block.group(1).splitlines() if line.strip()}


def test_docs_api_md_lists_exactly_the_schemas_endpoints():
    assert documented_operations() == schema_operations(), (
        "The API's endpoints changed: document them in docs/api.md (its endpoints block and a section each).")


def test_every_error_code_is_documented():
    from server.api.errors import STATUS

    text = (ROOT / "docs" / "api.md").read_text()
    assert [code for code in STATUS if f"`{code}`" not in text] == []


def test_the_schema_and_the_docs_are_served():
    schema = Client().get("/api/v1/schema")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Bellman API"
    assert "bearer" in str(schema.json()["components"]["securitySchemes"]).lower()
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"<script>" not in docs.content.replace(b'<script src=', b'')


# -- end to end, with Redis and a real worker ----------------------------------------------------------------
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_script_submits_with_a_token_polls_and_reads_the_graded_report(celery_worker, alice, assignment):
    headers = as_token(alice)
    created = upload(Client(), ASSIGNMENT + "/submissions", data=(EXAMPLES / "wrong_inverted_epsilon.py").read_bytes(),
                     name="wrong_inverted_epsilon.py", **headers)
    assert created.status_code == 201
    path = created["Location"].removeprefix("https://grader.example.edu")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = Client().get(path, **headers).json()
        if body["status"] in ("graded", "error"):
            break
        time.sleep(1)
    assert body["status"] == "graded", f"not graded in time ({body['status']}); see var/test/worker.log"
    assert (body["score"], body["max_score"]) == (70, 100)
    checks = {c["id"]: c for c in body["report"]["checks"]}
    assert checks["epsilon_greedy"]["status"] == "failed"
    assert "not 1 - epsilon" in checks["epsilon_greedy"]["feedback"]
    assert checks["learning_curve"]["status"] == "passed"
    assert len(body["report"]["curves"]) == 5
    assert body["report"]["assignment"] == "qlearning-cliffwalking"
    assert body["report"]["status"] == "graded"
    listed = Client().get("/api/v1/courses", **headers).json()[0]["assignments"][0]["latest_submission"]
    assert (listed["id"], listed["status"], listed["score"]) == (body["id"], "graded", 70)


def test_a_written_submissions_scores_show_only_once_published(alice, irene, course):
    from server.reviews.models import Publication

    synthesis = course.assignments.create(slug="synthesis-unit6", title="Unit 6 synthesis")
    submission = factories.graded(synthesis, alice, score=8, max_score=10, at=timezone.now(),
                                  checks=[("s1", "passed", 8, 10, {})])
    path = f"/api/v1/submissions/{submission.pk}"
    before = Client().get(path, **as_token(alice)).json()
    assert (before["score"], before["report"]["checks"], before["report"]["published"]) == (None, [], False)
    assert Client().get(path, **as_token(irene)).json()["report"]["checks"][0]["score"] == 8
    Publication.objects.create(submission=submission, score=7, max_score=10, published_by=irene)
    after = Client().get(path, **as_token(alice)).json()
    assert (after["score"], after["report"]["score"], after["report"]["published"]) == (7, 7, True)
    assert [(c["id"], c["score"]) for c in after["report"]["checks"]] == [("s1", 8)]
    rules = Client().get("/api/v1/courses/rl/assignments/synthesis-unit6", **as_token(alice)).json()
    assert rules["kind"] == "written"
    assert ".md" in rules["file_types"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_token_page_and_the_api_docs_keep_to_the_content_security_policy(live_server, browser, alice):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.server.test_content_security_policy import WATCH, violations
    from tests.server.test_web_flow import log_in

    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    try:
        log_in(browser, live_server.url, "alice")
        browser.find_element(By.ID, "nav-tokens").click()
        browser.find_element(By.ID, "token-name").send_keys("Colab")
        browser.find_element(By.ID, "create-token-button").click()
        plaintext = browser.find_element(By.ID, "new-token-value").get_attribute("value")
        assert plaintext.startswith("bm_")
        assert violations(browser) == []
        browser.get(live_server.url + "/api/v1/docs")
        WebDriverWait(browser, 15).until(lambda b: "/api/v1/courses" in b.find_element(By.ID, "swagger-ui").text,
                                         message="the API docs did not draw")
        assert violations(browser) == []
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})
