"""Grading a stored submission: state machine, persistence, retries, idempotence."""
import pytest

from grader.errors import InfrastructureError
from server.submissions import grading, services
from server.submissions.models import GradingRun, Submission
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(alice, assignment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        return services.submission_create(assignment=assignment, student=alice, filename="wrong.py",
                                          data=(EXAMPLES / "wrong_no_learning_rate.py").read_bytes())


def both_phases(submission_id):
    """What the two workers do: the unit checks (queue celery), then the training checks (queue training)."""
    grading.submission_grade(submission_id=submission_id)
    run_id = Submission.objects.get(pk=submission_id).current_run_id
    return grading.submission_train(submission_id=submission_id, run_id=run_id)


@pytest.mark.bwrap
def test_the_unit_checks_are_stored_before_training_starts(queued, settings):
    settings.SANDBOX_BACKEND = "bwrap"
    assert grading.submission_grade(submission_id=queued.pk) == Submission.RUNNING
    queued.refresh_from_db()
    assert queued.phase == Submission.TRAINING_QUEUED
    assert {c.check_id: c.score for c in queued.check_results.all()} == {"epsilon_greedy": 30, "q_update": 0}


@pytest.mark.bwrap
def test_the_unit_checks_show_on_the_page_while_the_curve_waits(queued, settings, client, alice):
    settings.SANDBOX_BACKEND = "bwrap"
    grading.submission_grade(submission_id=queued.pk)
    client.force_login(alice)
    page = client.get(queued.get_absolute_url()).content.decode()
    assert 'id="check-q_update"' in page
    assert "the learning curve waits for a trainer" in page


def test_a_training_task_of_a_superseded_run_does_nothing(queued):
    run = grading.claim(queued.pk)
    Submission.objects.filter(pk=queued.pk).update(phase=Submission.TRAINING_QUEUED)
    assert grading.training_claim(queued.pk, run.pk + 1000) is None


@pytest.mark.bwrap
def test_grading_persists_the_report_checks_and_run(queued, settings):
    settings.SANDBOX_BACKEND = "bwrap"
    assert both_phases(queued.pk) == Submission.GRADED
    queued.refresh_from_db()
    assert queued.score == 70
    assert queued.max_score == 100
    assert queued.report["assignment"] == "qlearning-cliffwalking"
    assert {c.check_id: c.score for c in queued.check_results.all()} == {
        "epsilon_greedy": 30, "q_update": 0, "learning_curve": 40}
    run = GradingRun.objects.get(submission=queued)
    assert run.backend == "bwrap"
    assert run.outcome == "graded"
    assert run.finished_at
    assert "run_checks" in run.timings


@pytest.mark.bwrap
def test_grading_twice_does_nothing_the_second_time(queued, settings):
    settings.SANDBOX_BACKEND = "bwrap"
    both_phases(queued.pk)
    assert both_phases(queued.pk) == Submission.GRADED
    assert GradingRun.objects.filter(submission=queued).count() == 1


def test_a_machine_fault_requeues_for_a_retry_then_fails_for_good(queued, settings):
    settings.SANDBOX_BACKEND = "docker"
    settings.SANDBOX_IMAGE = "bellman-no-such-image:none"
    settings.SANDBOX_ROOTFS = "/nonexistent"
    with pytest.raises(InfrastructureError):
        grading.submission_grade(submission_id=queued.pk, final_attempt=False)
    queued.refresh_from_db()
    assert queued.status == Submission.QUEUED
    assert grading.submission_grade(submission_id=queued.pk, final_attempt=True) == Submission.ERROR
    queued.refresh_from_db()
    assert "not a problem with your file" in queued.error
    assert [r.outcome for r in queued.runs.all()] == ["retry", "error"]


def test_the_state_machine_refuses_impossible_moves(queued):
    assert queued.can_move_to(Submission.RUNNING)
    assert not queued.can_move_to(Submission.GRADED)
    with pytest.raises(ValueError):
        services._move(queued, Submission.GRADED)


def test_each_task_gets_time_limits_derived_from_its_assignment(queued, settings, monkeypatch):
    """The warm-up: two unit checks of one 120 s session each; five 20 s runs, two at a time."""
    settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT, settings.GRADER_PARALLEL_RUNS = 900, 960, 2
    sent = []
    from server.celery import app

    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    assert services.task_send(queued.pk)
    assert services.train_send(queued.pk, 1)
    (_, units), (_, training) = sent
    assert (units["soft_time_limit"], units["time_limit"]) == (2 * 120 + 60, 2 * 120 + 120)
    assert (training["soft_time_limit"], training["time_limit"]) == (3 * (20 + 60) + 60, 3 * (20 + 60) + 120)


def test_the_configured_limits_are_the_ceiling(queued, settings, monkeypatch):
    settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT = 200, 230
    limits = services.task_limits(queued.pk, "units")
    assert limits == {"soft_time_limit": 200, "time_limit": 230}
    assert services.grading_config(backend="bwrap").max_budget_s == 200 - 60
