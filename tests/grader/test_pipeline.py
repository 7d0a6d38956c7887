"""Pipeline steps that need no sandbox."""
from grader import assignments
from grader.pipeline import GradingConfig, Job, normalise, static_checks

QL = assignments.get("qlearning-cliffwalking")


def job(source, filename="s.py"):
    j = Job(assignment=QL, filename=filename, data=source.encode(), config=GradingConfig(backend=None))
    normalise(j)
    return j


def test_a_syntax_error_fails_every_check_with_its_line():
    j = job("def q_update(:\n    pass\n")
    static_checks(j)
    assert set(j.static_failures) == {"epsilon_greedy", "q_update", "learning_curve"}
    assert "line 1" in j.static_failures["q_update"] and "does not parse" in j.static_failures["q_update"]


def test_a_missing_function_fails_only_the_checks_that_need_it():
    j = job("def epsilon_greedy(Q, s, e, rng):\n    return 0\ndef train(env, n, **kw):\n    pass\n")
    static_checks(j)
    assert list(j.static_failures) == ["q_update"]
    assert "q_update is not defined" in j.static_failures["q_update"]


def test_names_defined_under_if_or_try_count_as_defined():
    j = job("try:\n    import numpy as np\nexcept ImportError:\n    pass\n"
            "if True:\n    def q_update(*a):\n        return 0\n")
    static_checks(j)
    assert "q_update" not in j.static_failures


def test_a_rejected_file_ends_the_job_with_an_error_report():
    j = job("", filename="empty.py")
    assert j.done and j.report.status == "error" and "empty" in j.report.error
