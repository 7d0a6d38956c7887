"""Grades to the LMS (LTI Assignment and Grade Services) against the suite's platform over loopback HTTP: its token
endpoint checks Bellman's client assertion against Bellman's published key set (a live server), its line items
and scores follow the specification's rules, and its faults are injected (401, 422, 429 with Retry-After, 500,
a refused connection)."""
import signal
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from grader.report import Report, ScoredCheck
from server.courses.models import Assignment, Enrolment
from server.courses.signals import score_changed
from server.lti import grades, roster
from server.lti.models import ContextLink, GradeSend, Identity, LineItem
from server.reviews.models import Publication
from server.submissions.grading import claim, report_persist
from tests.conftest import broker_use
from tests.server.factories import graded, student
from tests.server.lti_platform import INSTRUCTOR, LEARNER, TestPlatform
from tests.server.services import Services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lms(settings, live_server):
    settings.BELLMAN_LTI_ALLOW_INSECURE = True
    cache.clear()
    platform = TestPlatform().start()
    platform.register()
    platform.tool_jwks_url = live_server.url + "/lti/jwks/"
    yield platform
    platform.stop()


@pytest.fixture
def course(lms):
    """An LMS course linked by its instructor, with one assignment and its column in the LMS gradebook."""
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    course = ContextLink.objects.get().course
    Assignment.objects.create(course=course, slug="qlearning-cliffwalking", title="Q-learning",
                              due_at=timezone.now() + timedelta(days=3))
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    grades.line_items_sweep()  # what the task the launch queued does (a worker's test below)
    return course


@pytest.fixture
def ada(lms, course):
    lms.launch(Client(), sub="ada", roles=[LEARNER], **lms.ags_claim())
    return Identity.objects.get(subject="ada").user


def grade(assignment, student, score, **more):
    graded(assignment, student, score=score, at=timezone.now(), **more)
    score_changed.send(Assignment, assignment=assignment, student=student)


def lms_score(lms, student_subject="ada"):
    (item,) = LineItem.objects.all()
    return lms.scores.get((item.url, student_subject))


# -- line items --------------------------------------------------------------------------------------------------------
def test_an_instructor_s_launch_makes_the_assignment_s_gradebook_column(lms, course):
    (item,) = lms.line_items.values()
    assert item["resourceId"] == "qlearning-cliffwalking"
    assert item["label"] == "Q-learning"
    assert item["scoreMaximum"] == 100.0
    assert LineItem.objects.get().url == item["id"]


def test_launching_again_makes_no_second_column(lms, course):
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    assert grades.line_items_sweep() == 0
    assert len(lms.line_items) == 1
    assert LineItem.objects.count() == 1


def test_a_column_the_lms_already_has_is_reused_after_a_course_copy(lms, course):
    LineItem.objects.all().delete()  # a copied LMS course: Bellman's side starts afresh, the LMS has the column
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    grades.line_items_sweep()
    assert len(lms.line_items) == 1
    assert LineItem.objects.count() == 1


def test_a_platform_that_withholds_the_line_item_scope_gets_no_columns(lms, course):
    LineItem.objects.all().delete()
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim(scope=[grades.SCOPE_SCORE]))
    assert grades.line_items_sweep() == 0


def test_an_lms_refusing_a_column_fails_that_column_only(lms, course):
    Assignment.objects.create(course=course, slug="reinforce-cartpole", title="REINFORCE")
    LineItem.objects.all().delete()
    lms.faults = [(500, {})]
    assert grades.line_items_sweep() == 1
    assert grades.line_items_sweep() == 1


# -- scores ------------------------------------------------------------------------------------------------------------
def test_a_graded_submission_s_score_reaches_the_lms_gradebook(lms, course, ada):
    grade(course.assignments.get(), ada, 85.0)
    assert grades.send_due()["sent"] == 1
    assert lms_score(lms)["scoreGiven"] == 85.0
    assert lms_score(lms)["gradingProgress"] == "FullyGraded"


def test_a_real_grading_s_score_goes_to_the_outbox(lms, course, ada):
    submission = graded(course.assignments.get(), ada, score=0.0, at=timezone.now(), status="queued")
    run = claim(submission.pk)
    report = Report(assignment="qlearning-cliffwalking", max_score=100.0)
    report.add(ScoredCheck("q_update", "passed", 70.0, 100.0, "ok"))
    report_persist(submission, run, report)
    assert GradeSend.objects.get().score == 70.0


def test_a_regrade_sends_the_new_score_and_an_unchanged_one_is_not_sent_again(lms, course, ada):
    assignment = course.assignments.get()
    grade(assignment, ada, 60.0)
    grades.send_due()
    score_changed.send(Assignment, assignment=assignment, student=ada)  # nothing changed
    assert grades.send_due()["sent"] == 0
    grade(assignment, ada, 90.0)
    grades.send_due()
    assert lms_score(lms)["scoreGiven"] == 90.0
    assert lms.score_posts == 2


def test_the_late_penalty_is_applied(lms, course, ada):
    assignment = course.assignments.get()
    Assignment.objects.filter(pk=assignment.pk).update(late_policy=Assignment.LATE_PENALTY, late_penalty_percent=10.0,
                                                       due_at=timezone.now() - timedelta(hours=30))
    assignment.refresh_from_db()
    grade(assignment, ada, 80.0)
    grades.send_due()
    assert lms_score(lms)["scoreGiven"] == pytest.approx(64.0)  # two days late


def test_hidden_checks_stay_hidden_until_the_due_date(lms, course, ada):
    assignment = course.assignments.get()
    Assignment.objects.filter(pk=assignment.pk).update(hidden_checks=["learning_curve"])
    assignment.refresh_from_db()
    grade(assignment, ada, 100.0, checks=[("q_update", "passed", 60.0, 60.0, {}),
                                          ("learning_curve", "passed", 40.0, 40.0, {})])
    grades.send_due()
    before = dict(lms_score(lms))
    Assignment.objects.filter(pk=assignment.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    grades.reconcile()
    grades.send_due()
    assert (before["scoreGiven"], before["scoreMaximum"]) == (60.0, 60.0)
    assert (lms_score(lms)["scoreGiven"], lms_score(lms)["scoreMaximum"]) == (100.0, 100.0)


def test_the_best_submission_while_checks_are_hidden_is_chosen_by_what_the_student_sees(lms, course, ada):
    assignment = course.assignments.get()
    Assignment.objects.filter(pk=assignment.pk).update(hidden_checks=["learning_curve"],
                                                       counting=Assignment.COUNT_BEST)
    assignment.refresh_from_db()
    grade(assignment, ada, 60.0, checks=[("q_update", "passed", 60.0, 60.0, {}),
                                         ("learning_curve", "failed", 0.0, 40.0, {})])
    grade(assignment, ada, 80.0, checks=[("q_update", "failed", 40.0, 60.0, {}),
                                         ("learning_curve", "passed", 40.0, 40.0, {})])
    grades.send_due()
    assert lms_score(lms)["scoreGiven"] == 60.0  # not 40: that would say the second one passed a hidden check


def test_a_score_that_changes_while_it_is_sent_goes_out_again(lms, course, ada):
    assignment = course.assignments.get()
    grade(assignment, ada, 50.0)
    row = GradeSend.objects.get()
    GradeSend.objects.filter(pk=row.pk).update(state=GradeSend.SENDING, claimed_at=timezone.now())
    grade(assignment, ada, 75.0)  # meanwhile
    grades._finish(row, state=GradeSend.SENT, sent_version=row.changed_at)  # the old send finishes
    assert GradeSend.objects.get().state == GradeSend.PENDING
    grades.send_due()
    assert lms_score(lms)["scoreGiven"] == 75.0


def test_an_older_score_never_replaces_a_newer_one(lms, course, ada):
    assignment = course.assignments.get()
    grade(assignment, ada, 50.0)
    old = GradeSend.objects.get()
    grade(assignment, ada, 75.0)
    grades.send_due()
    GradeSend.objects.filter(pk=old.pk).update(score=50.0, changed_at=old.changed_at, state=GradeSend.PENDING)
    grades.send_due()  # a stale retry of the older score
    assert lms_score(lms)["scoreGiven"] == 75.0


# -- tokens and faults ----------------------------------------------------------------------------------------------
def test_the_access_token_is_reused_until_it_is_refused(lms, course, ada):
    assignment = course.assignments.get()
    before = lms.tokens_issued  # the line items' own token (another scope)
    grade(assignment, ada, 10.0)
    grades.send_due()
    grade(assignment, ada, 20.0)
    grades.send_due()
    reused = lms.tokens_issued - before
    lms.expire_tokens()
    grade(assignment, ada, 30.0)
    grades.send_due()
    assert reused == 1
    assert lms.tokens_issued - before == 2
    assert lms_score(lms)["scoreGiven"] == 30.0


def test_429_is_retried_after_the_retry_after_it_gives(lms, course, ada):
    grade(course.assignments.get(), ada, 40.0)
    lms.faults.append((429, {"Retry-After": "120"}))
    assert grades.send_due()["retried"] == 1
    row = GradeSend.objects.get()
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=110)
    assert grades.send_due()["sent"] == 0  # not yet
    assert grades.send_due(now=timezone.now() + timedelta(seconds=121))["sent"] == 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retried(lms, course, ada, status):
    grade(course.assignments.get(), ada, 40.0)
    lms.faults.append((status, {}))
    grades.send_due()
    grades.send_due(now=timezone.now() + timedelta(minutes=5))
    assert lms_score(lms)["scoreGiven"] == 40.0


def test_a_refused_connection_is_retried(lms, course, ada):
    grade(course.assignments.get(), ada, 40.0)
    line_item = LineItem.objects.get()
    LineItem.objects.filter(pk=line_item.pk).update(url="http://127.0.0.1:1/lineitems/1")
    assert grades.send_due()["retried"] == 1
    LineItem.objects.filter(pk=line_item.pk).update(url=line_item.url)
    assert grades.send_due(now=timezone.now() + timedelta(minutes=5))["sent"] == 1


def test_a_422_fails_with_what_to_fix_and_send_again_sends_it(lms, course, ada):
    grade(course.assignments.get(), ada, 40.0)
    lms.faults.append((422, {}))
    assert grades.send_due()["failed"] == 1
    assert "still enrolled" in GradeSend.objects.get().last_error
    grades.send_now(LineItem.objects.get())
    grades.send_due()
    assert lms_score(lms)["scoreGiven"] == 40.0


# -- when grades go ----------------------------------------------------------------------------------------------------
def test_after_the_due_date_grades_wait_for_it(lms, course, ada):
    assignment = course.assignments.get()
    LineItem.objects.update(policy=LineItem.AFTER_DUE)
    grade(assignment, ada, 40.0)
    grades.send_due()
    waited = lms_score(lms)
    Assignment.objects.filter(pk=assignment.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    grades.reconcile()
    grades.send_due()
    assert waited is None
    assert lms_score(lms)["scoreGiven"] == 40.0


def test_on_the_instructor_s_click_grades_wait_for_it(lms, course, ada):
    LineItem.objects.update(policy=LineItem.ON_CLICK)
    grade(course.assignments.get(), ada, 40.0)
    grades.send_due()
    waited = lms_score(lms)
    grades.send_now(LineItem.objects.get())
    grades.send_due()
    assert waited is None
    assert lms_score(lms)["scoreGiven"] == 40.0


# -- the instructor's dashboard --------------------------------------------------------------------------------------
def test_the_dashboard_shows_a_failure_with_what_to_fix_and_sends_it_again(lms, course, ada):
    teacher = Client()
    lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    grade(course.assignments.get(), ada, 40.0)
    lms.faults.append((422, {}))
    grades.send_due()
    page = teacher.get(f"/c/{course.slug}/qlearning-cliffwalking/dashboard/").content.decode()
    response = teacher.post(f"/c/{course.slug}/qlearning-cliffwalking/lms-grades/",
                            {"line_item": LineItem.objects.get().pk, "action": "send"})
    grades.send_due()
    assert "still enrolled" in page
    assert response.status_code == 302
    assert lms_score(lms)["scoreGiven"] == 40.0


def test_the_instructor_chooses_when_grades_are_sent(lms, course, ada):
    teacher = Client()
    lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    teacher.post(f"/c/{course.slug}/qlearning-cliffwalking/lms-grades/",
                 {"line_item": LineItem.objects.get().pk, "action": "policy", "policy": LineItem.ON_CLICK})
    grade(course.assignments.get(), ada, 40.0)
    grades.send_due()
    assert LineItem.objects.get().policy == LineItem.ON_CLICK
    assert lms_score(lms) is None


def test_a_student_cannot_send_grades(lms, course, ada):
    student = Client()
    lms.launch(student, sub="ada", roles=[LEARNER], **lms.ags_claim())
    response = student.post(f"/c/{course.slug}/qlearning-cliffwalking/lms-grades/",
                            {"line_item": LineItem.objects.get().pk, "action": "send"})
    assert response.status_code == 403


def test_written_answers_go_as_pending_manual_grading_until_published(lms, course, ada):
    written = Assignment.objects.create(course=course, slug="synthesis-unit6", title="Synthesis")
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    grades.line_items_sweep()  # its column
    submission = graded(written, ada, score=70.0, at=timezone.now())
    score_changed.send(Assignment, assignment=written, student=ada)
    grades.send_due()
    item = LineItem.objects.get(assignment=written)
    before = dict(lms.scores[(item.url, "ada")])
    Publication.objects.create(submission=submission, score=64.0, max_score=100.0,
                               published_by=Identity.objects.get(subject="teacher-1").user)
    score_changed.send(Assignment, assignment=written, student=ada)
    grades.send_due()
    assert before["gradingProgress"] == "PendingManual"
    assert "scoreGiven" not in before
    assert lms.scores[(item.url, "ada")]["scoreGiven"] == 64.0



# -- the roster (NRPS) ----------------------------------------------------------------------------------------------
def enrolment(course, sub):
    return Enrolment.objects.filter(course=course, user__lti_identities__subject=sub).first()


def test_the_roster_sync_enrols_the_members_of_every_page(lms, course):
    lms.members = [lms.member("teacher-1", roles=[INSTRUCTOR]), lms.member("ada"), lms.member("grace"),
                   lms.member("alan"), lms.member("old-student", status="Inactive")]
    ContextLink.objects.update(memberships_url=lms.base + "/memberships")
    counts = roster.sync(ContextLink.objects.get())
    assert counts["members"] == 5
    # alan is on the second page, behind a paging token with capitals
    assert enrolment(course, "alan").role == Enrolment.STUDENT
    assert enrolment(course, "old-student") is None


def test_a_member_who_left_is_deactivated_never_deleted(lms, course, ada):
    lms.members = [lms.member("teacher-1", roles=[INSTRUCTOR]), lms.member("ada")]
    ContextLink.objects.update(memberships_url=lms.base + "/memberships")
    roster.sync(ContextLink.objects.get())
    grade(course.assignments.get(), ada, 50.0)
    lms.members = [lms.member("teacher-1", roles=[INSTRUCTOR])]
    roster.sync(ContextLink.objects.get())
    assert enrolment(course, "ada").active is False
    assert course.role_of(ada) is None
    assert ada.submissions.count() == 1


def test_an_empty_roster_deactivates_nobody(lms, course, ada):
    lms.members = []
    ContextLink.objects.update(memberships_url=lms.base + "/memberships")
    roster.sync(ContextLink.objects.get())
    assert enrolment(course, "ada").active is True


def test_an_instructor_s_launch_offers_the_roster_and_the_beat_syncs_it(lms, course):
    lms.members = [lms.member("teacher-1", roles=[INSTRUCTOR]), lms.member("grace")]
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.nrps_claim())
    assert roster.sync_all() == 1
    assert enrolment(course, "grace").role == Enrolment.STUDENT


def test_an_account_of_the_csv_import_is_left_alone(lms, course):
    csv_student = student(course, "ada-from-csv", email="ada@example.edu")
    lms.members = [lms.member("teacher-1", roles=[INSTRUCTOR]), lms.member("ada", email="ada@example.edu")]
    ContextLink.objects.update(memberships_url=lms.base + "/memberships")
    roster.sync(ContextLink.objects.get())
    assert course.role_of(csv_student) == Enrolment.STUDENT
    assert Identity.objects.get(subject="ada").user != csv_student


def test_the_instructor_merges_a_csv_account_with_the_same_student_s_lms_account(lms, course):
    csv_student = student(course, "ada-from-csv", email="ada@example.edu")
    ada = lms.launch(Client(), sub="ada", roles=[LEARNER], email="ada@example.edu")
    teacher = Client()
    lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR])
    lms_account = Identity.objects.get(subject="ada").user
    offered = teacher.get(f"/c/{course.slug}/roster/").content.decode()
    answer = teacher.post(f"/c/{course.slug}/roster/", {"action": "merge", "lms_user": lms_account.username,
                                                        "csv_user": csv_student.username})
    again = Client()
    lms.launch(again, sub="ada", roles=[LEARNER])
    assert ada.status_code == 302
    assert "Merge into ada-from-csv" in offered
    assert answer.status_code == 302
    assert int(again.session["_auth_user_id"]) == csv_student.pk
    assert get_user_model().objects.get(pk=lms_account.pk).is_active is False


def test_an_lms_account_with_work_of_its_own_is_not_merged(lms, course):
    csv_student = student(course, "ada-from-csv", email="ada@example.edu")
    lms.launch(Client(), sub="ada", roles=[LEARNER], email="ada@example.edu")
    lms_account = Identity.objects.get(subject="ada").user
    graded(course.assignments.get(), lms_account, score=50.0, at=timezone.now())
    teacher = Client()
    lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR])
    teacher.post(f"/c/{course.slug}/roster/", {"action": "merge", "lms_user": lms_account.username,
                                               "csv_user": csv_student.username})
    assert Identity.objects.get(subject="ada").user == lms_account


def test_a_student_cannot_merge_accounts(lms, course):
    csv_student = student(course, "ada-from-csv", email="ada@example.edu")
    ada = Client()
    lms.launch(ada, sub="ada", roles=[LEARNER], email="ada@example.edu")
    lms_account = Identity.objects.get(subject="ada").user
    answer = ada.post(f"/c/{course.slug}/roster/", {"action": "merge", "lms_user": lms_account.username,
                                                    "csv_user": csv_student.username})
    assert answer.status_code == 403
    assert Identity.objects.get(subject="ada").user == lms_account


# -- faults of the machine -------------------------------------------------------------------------------------------
@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.setenv("BELLMAN_LTI_ALLOW_INSECURE", "true")  # the worker process's platform URLs are loopback


@pytest.mark.services
def test_a_worker_killed_mid_send_leaves_the_grade_to_be_sent_again_with_its_timestamp(lms, course, ada, worker_env,
                                                                                   celery_worker):
    lms.score_delay = 8.0
    grade(course.assignments.get(), ada, 55.0)  # queued to the worker on the queue lti
    deadline = time.monotonic() + 60
    while lms.score_posts == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    celery_worker.send_signal(signal.SIGKILL)  # mid-send: the LMS has the score, Bellman has no answer
    celery_worker.wait(timeout=10)
    row = GradeSend.objects.get()
    lms.score_delay = 0.0
    grades.send_due(now=timezone.now() + grades.STUCK_AFTER + timedelta(seconds=1))
    assert row.state == GradeSend.SENDING
    assert GradeSend.objects.get().state == GradeSend.SENT
    assert lms.score_posts == 2
    assert lms_score(lms)["timestamp"] == row.changed_at.isoformat()  # the same score again, not a newer one



@pytest.fixture
def lti_services(redis_server, settings, tmp_path):
    """A worker of the queue lti and a beat whose grade sweep runs every two seconds, on a Redis of the test's."""
    previous = broker_use(redis_server.url, settings)
    found = Services(redis_server.url, tmp_path)
    found.env.update(BELLMAN_LTI_ALLOW_INSECURE="true", BELLMAN_LTI_SWEEP_SECONDS="2")
    yield found
    found.stop()
    broker_use(previous, settings)


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(message + " (see var/test/fault-*.log)")


@pytest.mark.services
def test_a_worker_makes_the_columns_of_an_instructor_s_launch(lms, course, lti_services):
    Assignment.objects.create(course=course, slug="reinforce-cartpole", title="REINFORCE")
    lti_services.worker("lti", queues="lti")
    lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **lms.ags_claim())
    wait_for(lambda: LineItem.objects.count() == 2, 60, "the launch's columns were not made")
    assert sorted(i["resourceId"] for i in lms.line_items.values()) == ["qlearning-cliffwalking", "reinforce-cartpole"]


@pytest.mark.services
def test_a_grade_whose_send_redis_lost_is_sent_once_by_the_sweep(lms, course, ada, redis_server, lti_services):
    import redis

    grade(course.assignments.get(), ada, 55.0)  # queued to the queue lti: no worker yet
    assert redis.Redis.from_url(redis_server.url).llen("lti") == 1
    redis_server.stop()
    redis_server.start()  # empty: the queued send is lost
    assert redis.Redis.from_url(redis_server.url).llen("lti") == 0
    lti_services.worker("lti", queues="lti")
    lti_services.beat()
    wait_for(lambda: GradeSend.objects.filter(state=GradeSend.SENT).exists(), 90, "the lost send was never made")
    time.sleep(5)  # two more sweeps: nothing is sent again
    assert lms.score_posts == 1
    assert lms_score(lms)["scoreGiven"] == 55.0
