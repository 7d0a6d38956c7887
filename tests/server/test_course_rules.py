"""Deadlines, late policies, extensions, submission limits and the score that counts, with time injected."""
from datetime import UTC, datetime, timedelta

import pytest

from grader.errors import SubmissionRejected
from server.courses import grades
from server.courses.models import Assignment, Extension
from server.submissions.services import submission_create
from tests.server.factories import graded

DUE = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
SOURCE = b"def epsilon_greedy(Q, state, epsilon, rng):\n    return 0\n"


@pytest.fixture
def due_assignment(assignment):
    assignment.due_at = DUE
    assignment.save()
    return assignment


def submit(assignment, who, now, role=None):
    return submission_create(assignment=assignment, student=who, filename="s.py", data=SOURCE, now=now, role=role)


def test_one_second_late_is_one_day_late(due_assignment):
    assert due_assignment.late_days(DUE + timedelta(seconds=1)) == 1


def test_on_time_is_zero_days_late(due_assignment):
    assert due_assignment.late_days(DUE) == 0


def test_a_day_and_a_minute_late_is_two_days(due_assignment):
    assert due_assignment.late_days(DUE + timedelta(days=1, minutes=1)) == 2


def test_the_penalty_takes_its_percentage_per_day(due_assignment):
    due_assignment.late_policy, due_assignment.late_penalty_percent = Assignment.LATE_PENALTY, 10
    assert due_assignment.penalised(80.0, 2) == 64.0


def test_the_penalty_never_goes_below_zero(due_assignment):
    due_assignment.late_policy, due_assignment.late_penalty_percent = Assignment.LATE_PENALTY, 60
    assert due_assignment.penalised(80.0, 3) == 0.0


def test_under_no_late_policy_a_late_score_is_kept(due_assignment):
    assert due_assignment.penalised(80.0, 3) == 80.0


def test_a_cutoff_refuses_a_submission_after_the_due_date(due_assignment, alice, django_capture_on_commit_callbacks):
    due_assignment.late_policy = Assignment.LATE_CUTOFF
    due_assignment.save()
    with pytest.raises(SubmissionRejected, match="takes no late submissions"):
        submit(due_assignment, alice, DUE + timedelta(minutes=1))
    assert not due_assignment.submissions.exists()


def test_a_cutoff_accepts_a_submission_before_the_due_date(due_assignment, alice, django_capture_on_commit_callbacks):
    due_assignment.late_policy = Assignment.LATE_CUTOFF
    due_assignment.save()
    submit(due_assignment, alice, DUE - timedelta(minutes=1))
    assert due_assignment.submissions.count() == 1


def test_an_extension_moves_the_cutoff_for_that_student_only(due_assignment, alice, bob, irene,
                                                              django_capture_on_commit_callbacks):
    due_assignment.late_policy = Assignment.LATE_CUTOFF
    due_assignment.save()
    Extension.objects.create(assignment=due_assignment, student=alice, due_at=DUE + timedelta(days=2), granted_by=irene)
    submit(due_assignment, alice, DUE + timedelta(days=1))
    with pytest.raises(SubmissionRejected):
        submit(due_assignment, bob, DUE + timedelta(days=1))


def test_late_submissions_stop_at_the_late_limit(due_assignment, alice, django_capture_on_commit_callbacks):
    due_assignment.late_policy, due_assignment.late_penalty_percent = Assignment.LATE_PENALTY, 10
    due_assignment.late_until = DUE + timedelta(days=3)
    due_assignment.save()
    submit(due_assignment, alice, DUE + timedelta(days=2))
    with pytest.raises(SubmissionRejected, match="Submissions closed"):
        submit(due_assignment, alice, DUE + timedelta(days=3, seconds=1))


def test_nothing_is_accepted_before_the_assignment_opens(due_assignment, alice):
    due_assignment.opens_at = DUE - timedelta(days=7)
    due_assignment.save()
    with pytest.raises(SubmissionRejected, match="opens on"):
        submit(due_assignment, alice, DUE - timedelta(days=8))


def test_a_closed_assignment_refuses_in_the_service_too(assignment, alice):
    assignment.is_open = False
    assignment.save()
    with pytest.raises(SubmissionRejected, match="closed"):
        submit(assignment, alice, DUE)


def test_the_submission_limit_refuses_the_next_one_and_says_when(assignment, alice, django_capture_on_commit_callbacks):
    assignment.submission_limit, assignment.limit_window_hours = 2, 24
    assignment.save()
    start = DUE - timedelta(days=2)
    submit(assignment, alice, start)
    graded_at = start
    assignment.submissions.update(created_at=graded_at)
    submit(assignment, alice, start + timedelta(hours=1))
    assignment.submissions.filter(created_at__gt=graded_at).update(created_at=start + timedelta(hours=1))
    verdict = grades.acceptance(assignment, alice, now=start + timedelta(hours=2))
    assert not verdict.allowed
    assert verdict.next_allowed_at == start + timedelta(hours=24)


def test_the_limit_message_names_the_time_of_the_next_allowed_submission(assignment, alice):
    assignment.submission_limit, assignment.limit_window_hours = 1, 6
    assignment.save()
    graded(assignment, alice, score=10, at=DUE)
    verdict = grades.acceptance(assignment, alice, now=DUE + timedelta(hours=1))
    assert "you can submit again at Sat 21 Nov 2026, 05:59" in verdict.reason


def test_the_window_rolls_a_slot_free(assignment, alice):
    assignment.submission_limit, assignment.limit_window_hours = 1, 6
    assignment.save()
    graded(assignment, alice, score=10, at=DUE)
    assert grades.acceptance(assignment, alice, now=DUE + timedelta(hours=6, seconds=1)).allowed


def test_instructors_are_not_limited(assignment, irene):
    assignment.submission_limit, assignment.is_open = 1, False
    assignment.save()
    graded(assignment, irene, score=10, at=DUE)
    assert grades.acceptance(assignment, irene, now=DUE, role="instructor").allowed


def test_the_latest_graded_submission_counts_by_default(assignment, alice):
    graded(assignment, alice, score=90, at=DUE - timedelta(hours=2))
    latest = graded(assignment, alice, score=40, at=DUE - timedelta(hours=1))
    standing = grades.standings([assignment])[(assignment.pk, alice.pk)]
    assert (standing.submission_id, standing.score) == (latest.pk, 40)


def test_a_failed_grading_does_not_replace_the_counting_submission(assignment, alice):
    first = graded(assignment, alice, score=90, at=DUE - timedelta(hours=2))
    graded(assignment, alice, score=0, at=DUE - timedelta(hours=1), status="error", error="boom")
    assert grades.standings([assignment])[(assignment.pk, alice.pk)].submission_id == first.pk


def test_the_best_counts_after_its_late_penalty(due_assignment, alice):
    due_assignment.counting, due_assignment.late_policy = Assignment.COUNT_BEST, Assignment.LATE_PENALTY
    due_assignment.late_penalty_percent = 50
    due_assignment.save()
    on_time = graded(due_assignment, alice, score=70, at=DUE - timedelta(hours=1))
    graded(due_assignment, alice, score=100, at=DUE + timedelta(hours=1))  # 50 after the penalty
    standing = grades.standings([due_assignment])[(due_assignment.pk, alice.pk)]
    assert (standing.submission_id, standing.score, standing.late_days) == (on_time.pk, 70, 0)


def test_an_extension_makes_a_late_submission_on_time(due_assignment, alice, irene):
    due_assignment.late_policy, due_assignment.late_penalty_percent = Assignment.LATE_PENALTY, 10
    due_assignment.save()
    Extension.objects.create(assignment=due_assignment, student=alice, due_at=DUE + timedelta(days=2), granted_by=irene)
    graded(due_assignment, alice, score=80, at=DUE + timedelta(days=1))
    standing = grades.standings([due_assignment])[(due_assignment.pk, alice.pk)]
    assert (standing.score, standing.late_days) == (80, 0)
