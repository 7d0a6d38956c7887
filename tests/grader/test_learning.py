"""The learning-curve outcome: tiers of the IQM, and each problem named once with the runs it stopped."""

from grader.learning.checkpoints import Checkpoint, StopRule
from grader.learning.outcome import tiered_outcome
from grader.learning.training import RunBoard, Skip, TrainingRun
from grader.spec import LearningCurveSpec

CFG = LearningCurveSpec(env="CartPole-v1", seeds=(1, 2, 3, 4, 5), run_timeout_s=10,
                        tiers=({"min_iqm": 60.0, "credit": 1.0}, {"min_iqm": 40.0, "credit": 0.6}))


def run(value, problem="", **more):
    return TrainingRun(seed=0, eval=value, problem=problem, returns=[1.0, 2.0], **more)


def test_the_tier_is_chosen_by_the_interquartile_mean():
    assert tiered_outcome([run(v) for v in (0, 70, 70, 70, 500)], CFG, metric="m").fraction == 1.0
    assert tiered_outcome([run(v) for v in (0, 45, 50, 55, 500)], CFG, metric="m").fraction == 0.6
    assert tiered_outcome([run(v) for v in (0, 10, 20, 30, 500)], CFG, metric="m").fraction == 0.0


def test_the_same_problem_in_every_run_is_said_once():
    runs = [run(None, f"ValueError: not a distribution:\ntensor([{p}, {1 - p}])") for p in (1.2, 1.5, 1.7)]
    outcome = tiered_outcome(runs, CFG, metric="m", hint="a hint")
    assert outcome.fraction == 0.0
    assert outcome.feedback.count("not a distribution") == 1
    assert "every run: ValueError: not a distribution:\ntensor([1.2" in outcome.feedback
    assert "a hint" not in outcome.feedback  # the problem is the feedback


def test_distinct_problems_name_their_runs():
    runs = [run(100), run(None, "TimeoutError: 150 s"), run(100), run(None, "MemoryError"),
            run(None, "TimeoutError: 150 s")]
    feedback = tiered_outcome(runs, CFG, metric="m").feedback
    assert "runs 2, 5: TimeoutError: 150 s" in feedback
    assert "run 4: MemoryError" in feedback
    assert len(tiered_outcome(runs, CFG, metric="m").curves) == 5


# -- stopping when the verdict is known ------------------------------------------------------------------
def test_four_runs_at_full_credit_decide_an_iqm_over_five():
    board = RunBoard(CFG, total=5)
    for value in (70, 80, 90):
        board.record(run(value))
    assert not board.decided()  # 0, 0, 70, 80, 90: the middle three average 50
    board.record(run(65))
    assert board.decided()  # 0, 65, 70, 80, 90: 71.7 whatever the fifth returns


def test_a_crashed_run_counts_as_zero_in_the_decision():
    board = RunBoard(CFG, total=5)
    for value in (500, 500, 500):
        board.record(run(value))
    board.record(run(None, "crashed"))
    assert board.decided()  # 0, 0, 500, 500, 500: the middle three average 333


def test_runs_below_full_credit_decide_nothing():
    board = RunBoard(CFG, total=5)
    for value in (59, 59, 59, 59):
        board.record(run(value))
    assert not board.decided()


def test_a_skipped_run_is_said_and_counted_as_zero_in_the_tier():
    runs = [run(100), run(100), run(100), run(100), run(None, skipped=Skip.DECIDED)]
    runs[0].full_credit_at, runs[2].full_credit_at = 40, 60
    outcome = tiered_outcome(runs, CFG, metric="m")
    assert outcome.fraction == 1.0
    assert outcome.details["runs_skipped"] == 1
    assert outcome.details["full_credit_at"] == [40, None, 60, None, None]
    assert "Runs 1, 3 reached full credit at episodes 40, 60 and stopped there." in outcome.feedback
    assert "1 of 5 runs were not needed" in outcome.feedback
    assert [c["label"] for c in outcome.curves] == ["run 1 (full credit at episode 40)", "run 2",
                                                    "run 3 (full credit at episode 60)", "run 4"]


def test_a_run_at_full_credit_before_learning_counts_nothing_for_the_decision():
    board = RunBoard(CFG, total=5)
    controller = run(500, checkpoints=[Checkpoint(0, 0, 500.0, every_init=True)])
    for _ in range(4):
        board.record(controller)
    assert not board.decided()


def test_runs_skipped_after_a_timeout_are_not_said_to_be_unneeded():
    timed_out = run(None, "not run: an earlier run ran out of time", skipped=Skip.TIMEOUT)
    outcome = tiered_outcome([run(100), run(None, "TimeoutError"), timed_out, timed_out, timed_out], CFG, metric="m")
    assert outcome.details["runs_skipped"] == 0
    assert "not needed" not in outcome.feedback
    assert "runs 3, 4, 5: not run: an earlier run ran out of time" in outcome.feedback
    assert outcome.fraction == 0.0


def test_the_grader_s_flags_never_reach_the_student():
    from server.submissions.visibility import student_report

    report = {"checks": [{"id": "learning_curve", "score": 0, "details": {"value": 500, "flags": ["run 1: ..."]}}]}
    assert "flags" not in student_report(report, hidden=set(), hide=False)["checks"][0]["details"]
    assert student_report(report, hidden=set(), hide=False, staff=True)["checks"][0]["details"]["flags"]


# -- the rule that stops a run at full credit, clause by clause ----------------------------------------------
RULE = StopRule(full=100.0, every=10)
LEARNED = [Checkpoint(0, 0, 20.0, params=5, fingerprint=1.0), Checkpoint(10, 900, 100.0, params=5, fingerprint=2.0),
           Checkpoint(20, 2500, 100.0, params=5, fingerprint=3.0)]
AT_FULL = [100.0] * 10


def test_learning_that_lasts_stops_the_run():
    assert RULE.stops(LEARNED, AT_FULL)


def test_one_evaluation_at_full_credit_is_not_enough():
    assert not RULE.held_at_full(LEARNED[:2])


def test_a_policy_at_full_credit_before_learning_is_not_stopped_on():
    lucky = [Checkpoint(0, 0, 100.0, params=5, fingerprint=1.0), *LEARNED[1:]]
    assert not RULE.below_full_before_learning(lucky)


def test_training_episodes_below_full_credit_keep_the_run_going():
    assert not RULE.training_at_full([100.0] * 9 + [10.0])


def test_parameters_no_step_changed_keep_the_run_going():
    unchanged = [*LEARNED[:2], Checkpoint(20, 2500, 100.0, params=5, fingerprint=1.0)]
    assert not RULE.parameters_trained(unchanged[0], unchanged[-1])


def test_without_checkpoints_during_training_nothing_stops_a_run():
    assert not StopRule(full=100.0, every=0).stops(LEARNED, AT_FULL)
