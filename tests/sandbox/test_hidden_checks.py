"""A hidden check's outcome cannot be observed from what the student sees before the due date.

The submission below counts the calls of its epsilon_greedy (hidden) and, when q_update (visible) first runs,
tries both channels: it prints the count, and it raises it as an exception message, which would land in the
visible check's feedback. A failing epsilon_greedy stops at its first failed stage (few calls), a passing one
runs them all (many), so the count would tell the student whether the hidden check passed. Hidden checks run
after the visible ones in sandboxes of their own, and what they print is kept apart: what a student sees is
the same whether the hidden check passed or failed.
"""
import pytest

from grader import assignments, pipeline
from server.submissions.visibility import student_report
from tests.conftest import ROOT

QL = assignments.get("qlearning-cliffwalking")
PASSES = (ROOT / "assignments/qlearning-cliffwalking/examples/passes_all.py").read_text()
CORRECT = '''    if rng.random() < epsilon:
        return int(rng.integers(0, Q.shape[1]))
    return int(np.argmax(Q[state]))
'''
WRONG = '''    if rng.random() < epsilon:
        return int(np.argmax(Q[state]))
    return int(rng.integers(0, Q.shape[1]))
'''
COUNTING = '''CALLS = [0]


def epsilon_greedy(Q, state, epsilon, rng):
    CALLS[0] += 1
    if CALLS[0] == 1:
        print("epsilon_greedy's first call")
'''
LEAKING = '''def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    print(f"epsilon_greedy was called {CALLS[0]} times")
    if CALLS[0]:
        raise RuntimeError(f"epsilon_greedy was called {CALLS[0]} times")
'''


def leaking(body: str) -> str:
    assert CORRECT in PASSES
    source = PASSES.replace(CORRECT, body)
    head, rest = source.split("def epsilon_greedy(Q, state, epsilon, rng):\n", 1)
    source = head + COUNTING + rest
    return source.replace("def q_update(Q, s, a, r, s2, terminated, alpha, gamma):\n", LEAKING)


def graded(source: str, config, hidden):
    config = pipeline.GradingConfig(backend=config.backend, parallel_runs=2, hidden=frozenset(hidden))
    return pipeline.grade(QL, "leak.py", source.encode(), config, only=("epsilon_greedy", "q_update")).to_dict()


@pytest.fixture
def reports(grading_config):
    return {name: graded(leaking(body), grading_config, {"epsilon_greedy"})
            for name, body in (("passes", CORRECT), ("fails", WRONG))}


def test_the_hidden_check_really_passes_in_one_and_fails_in_the_other(reports):
    status = {name: next(c for c in r["checks"] if c["id"] == "epsilon_greedy")["status"]
              for name, r in reports.items()}
    assert status == {"passes": "passed", "fails": "failed"}


def test_what_the_student_sees_is_the_same_whether_the_hidden_check_passed_or_not(reports):
    seen = {name: student_report(r, hidden={"epsilon_greedy"}, hide=True) for name, r in reports.items()}
    assert seen["passes"] == seen["fails"]


def test_the_visible_check_ran_before_any_hidden_call(reports):
    q_update = next(c for c in reports["passes"]["checks"] if c["id"] == "q_update")
    assert "called 0 times" in reports["passes"]["output_tail"]
    assert q_update["status"] == "passed", q_update["feedback"]


def test_what_the_hidden_checks_printed_is_kept_apart_for_after_the_due_date(reports):
    assert "epsilon_greedy's first call" in reports["passes"]["hidden_output_tail"]
    assert "epsilon_greedy's first call" not in reports["passes"]["output_tail"]
    assert "hidden_output_tail" not in student_report(reports["passes"], hidden={"epsilon_greedy"}, hide=True)


def test_after_the_due_date_the_hidden_checks_output_is_shown(reports):
    shown = student_report(reports["passes"], hidden={"epsilon_greedy"}, hide=False)
    assert "epsilon_greedy's first call" in shown["hidden_output_tail"]


def test_the_report_keeps_the_spec_s_order_of_checks(reports):
    assert [c["id"] for c in reports["passes"]["checks"]] == ["epsilon_greedy", "q_update"]


def test_without_hidden_checks_the_count_shows_as_before(grading_config):
    """The channel is real: without isolation the visible check's feedback carries the count."""
    report = graded(leaking(CORRECT), grading_config, set())
    q_update = next(c for c in report["checks"] if c["id"] == "q_update")
    assert "epsilon_greedy was called" in q_update["feedback"]
    assert "called 0 times" not in q_update["feedback"]
