"""Pipeline steps that need no sandbox."""
from grader import assignments
from grader.pipeline import GradingConfig, Job, normalise, static_checks
from grader.spec import RUN_MARGIN_S

QL = assignments.get("qlearning-cliffwalking")


def job(source, filename="s.py"):
    j = Job(assignment=QL, filename=filename, data=source.encode(), config=GradingConfig(backend=None))
    normalise(j)
    return j


def test_a_syntax_error_fails_every_check_with_its_line():
    j = job("def q_update(:\n    pass\n")
    static_checks(j)
    assert set(j.static_failures) == {"epsilon_greedy", "q_update", "learning_curve"}
    assert "line 1" in j.static_failures["q_update"]
    assert "does not parse" in j.static_failures["q_update"]


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
    assert j.done
    assert j.report.status == "error"
    assert "empty" in j.report.error


# -- the time budget --------------------------------------------------------------------------------
def test_the_time_budget_is_derived_from_the_spec():
    dqn = assignments.get("dqn-cartpole")
    # five unit checks of at most one 120 s session each
    assert dqn.time_budget(tuple(dqn.phase_checks("units"))) == 5 * 120
    # five runs two at a time: three waves of at most 150 s of training plus a margin
    assert dqn.time_budget(("learning_curve",), parallel_runs=2) == 3 * (150 + RUN_MARGIN_S)
    assert dqn.time_budget(("learning_curve",), parallel_runs=5) == 1 * (150 + RUN_MARGIN_S)


def test_the_configured_ceiling_caps_the_budget():
    from grader.pipeline import time_budget

    assert time_budget(QL, (), GradingConfig(backend=None, max_budget_s=30)) == 30
    assert time_budget(QL, ("q_update",), GradingConfig(backend=None)) == 120



# -- notebooks speak of cells --------------------------------------------------------------------------
def test_line_numbers_of_the_generated_script_become_cells_and_lines():
    from grader.normalise import in_notebook_terms

    source = "# --- cell 2 ---\nimport gym\n\n# --- cell 5 ---\nx = 1\ny = x / 0\n"
    feedback = 'Line 6: `y = x / 0`\n  File "/submission/submission.py", line 6, in <module>'
    assert in_notebook_terms(feedback, source) == ('Cell 5, line 2: `y = x / 0`\n'
                                                   '  File "your notebook", cell 5, line 2, in <module>')


def test_gyms_old_api_is_found_where_it_is_used():
    from grader.oldgym import old_api_uses

    uses = old_api_uses("s = env.reset()\ns, _ = env.reset()\ns2, r, done, _ = env.step(a)\nx = env.step(a)\n")
    assert [(u.mistake, u.line) for u in uses] == [("reset_as_observation", 1), ("four_value_step", 3)]
