"""A grading's life on one machine: claim, heartbeat, persist; every failure ends in a result, and a
stale worker cannot overwrite a newer result."""
import shutil
from datetime import timedelta

import pytest
from django.utils import timezone

from grader.report import Report, ScoredCheck as Result
from server.submissions import grading
from server.submissions.models import GradingRun, Submission
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(alice, assignment, django_capture_on_commit_callbacks):
    from server.submissions.services import submission_create

    with django_capture_on_commit_callbacks():
        return submission_create(assignment=assignment, student=alice, filename="passes_all.py",
                                 data=(EXAMPLES / "passes_all.py").read_bytes())


def report(score):
    out = Report(assignment="qlearning-cliffwalking", max_score=100.0)
    out.add(Result(id="learning_curve", status="passed", score=score, max_score=100.0, feedback=f"{score}"))
    return out


def test_a_running_submission_with_a_live_heartbeat_is_not_claimed_twice(queued):
    assert grading.claim(queued.pk) is not None
    assert grading.claim(queued.pk) is None


def test_a_running_submission_whose_heartbeat_stopped_is_claimed_again(queued):
    first = grading.claim(queued.pk)
    GradingRun.objects.filter(pk=first.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert grading.claim(queued.pk) is not None


def test_a_stale_worker_that_wakes_up_late_cannot_overwrite_the_newer_result(queued):
    stale = grading.claim(queued.pk)
    GradingRun.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    fresh = grading.claim(queued.pk)
    assert grading.report_persist(queued, fresh, report(100)) is True
    Submission.objects.filter(pk=queued.pk).update(status=Submission.RUNNING)  # as if regraded meanwhile
    assert grading.report_persist(queued, stale, report(10)) is False
    queued.refresh_from_db()
    assert queued.report["score"] == 100


def test_a_superseded_run_is_marked_so(queued):
    stale = grading.claim(queued.pk)
    GradingRun.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    grading.claim(queued.pk)
    grading.report_persist(queued, stale, report(10))
    assert GradingRun.objects.get(pk=stale.pk).outcome == "superseded"


@pytest.mark.django_db(transaction=True)  # the heartbeat writes from a thread of its own, on its own connection
def test_the_heartbeat_moves_while_grading(queued, settings):
    import time

    settings.BELLMAN_HEARTBEAT_SECONDS = 0.05
    run = grading.claim(queued.pk)
    before = GradingRun.objects.get(pk=run.pk).heartbeat_at
    with grading.heartbeat(run):
        time.sleep(0.3)
    assert GradingRun.objects.get(pk=run.pk).heartbeat_at > before


@pytest.fixture
def broken_checks(tmp_path, settings):
    """The warm-up with a typo in a check: the kind of bug that used to leave a submission running."""
    root = tmp_path / "assignments"
    shutil.copytree(ROOT / "assignments" / "qlearning-cliffwalking", root / "qlearning-cliffwalking")
    checks = root / "qlearning-cliffwalking" / "checks.py"
    checks.write_text(checks.read_text().replace("def epsilon_greedy(ctx):", "def epsilon_greedy(ctx):\n"
                                                 "    return {}['spec_typo']\n", 1))
    settings.BELLMAN_ASSIGNMENTS_DIR = root
    return root


def test_an_exception_inside_a_check_ends_the_submission_in_error(queued, broken_checks):
    assert grading.submission_grade(submission_id=queued.pk) == Submission.ERROR


def test_the_student_is_told_it_is_not_their_fault(queued, broken_checks):
    grading.submission_grade(submission_id=queued.pk)
    queued.refresh_from_db()
    assert "internal error" in queued.error
    assert "not a problem with your file" in queued.error


def test_staff_get_the_full_traceback_on_the_run(queued, broken_checks):
    grading.submission_grade(submission_id=queued.pk)
    run = queued.runs.get()
    assert "KeyError: 'spec_typo'" in run.message
    assert "Traceback" in run.message
    assert run.outcome == "error"


def test_the_tasks_last_line_of_defence_ends_an_unfinished_submission_in_error(queued):
    from server.submissions.tasks import grade_submission

    grading.claim(queued.pk)
    grade_submission.on_failure(MemoryError("killed"), "task-id", (queued.pk,), {}, "traceback text")
    queued.refresh_from_db()
    assert queued.status == Submission.ERROR
    assert "killed" in queued.runs.get().message


def test_the_last_line_of_defence_leaves_a_graded_submission_alone(queued):
    run = grading.claim(queued.pk)
    grading.report_persist(queued, run, report(100))
    assert grading.submission_fail_unfinished(submission_id=queued.pk, reason="late failure") is False


def _hold_lock(seconds, ready):
    """Lock the submissions table from another connection for ``seconds``: the database unavailable."""
    import sqlite3
    import time

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        other = sqlite3.connect(db["NAME"], isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
    else:
        import psycopg

        other = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                                dbname=db["NAME"])
        other.execute("LOCK TABLE submissions_submission IN ACCESS EXCLUSIVE MODE")
    ready.set()
    time.sleep(seconds)
    other.commit()
    other.close()


@pytest.mark.django_db(transaction=True)
def test_a_database_unavailable_for_a_moment_during_the_report_write_is_waited_for(queued, caplog):
    import threading

    from django.db import connection

    run = grading.claim(queued.pk)
    ready = threading.Event()
    locker = threading.Thread(target=_hold_lock, args=(2.5, ready))
    locker.start()
    ready.wait(10)
    options = connection.settings_dict.setdefault("OPTIONS", {})
    saved = dict(options)
    if connection.vendor == "sqlite":
        options["timeout"] = 0.5  # give up on the lock at once instead of waiting 30 s
        connection.close()
    else:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")
    try:
        assert grading.report_persist(queued, run, report(100)) is True
    finally:
        locker.join()
        options.clear()
        options.update(saved)
        connection.close()
    assert "trying again" in caplog.text
    assert Submission.objects.get(pk=queued.pk).status == Submission.GRADED


def test_a_submission_whose_gradings_keep_losing_their_worker_ends_in_error(queued):
    for _ in range(grading.MAX_LOST_RUNS):
        run = grading.claim(queued.pk)
        GradingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert grading.claim(queued.pk) is None
    queued.refresh_from_db()
    assert queued.status == Submission.ERROR
    assert "lost its worker each time" in queued.error


def test_finished_gradings_do_not_count_as_lost(queued):
    for _ in range(grading.MAX_LOST_RUNS + 1):
        run = grading.claim(queued.pk)
        grading.report_persist(queued, run, report(50))
        Submission.objects.filter(pk=queued.pk).update(status=Submission.QUEUED)  # a regrade
    assert grading.claim(queued.pk) is not None
