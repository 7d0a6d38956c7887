"""The learning-curve outcome: tiers of the IQM, and each problem named once with the runs it stopped."""
from grader.runs import tiered_outcome

CFG = {"tiers": [{"min_iqm": 60.0, "credit": 1.0}, {"min_iqm": 40.0, "credit": 0.6}]}


def run(value, problem=None):
    return {"eval": value, "problem": problem, "returns": [1.0, 2.0]}


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
    assert "runs 2, 5: TimeoutError: 150 s" in feedback and "run 4: MemoryError" in feedback
    assert len(tiered_outcome(runs, CFG, metric="m").curves) == 5
