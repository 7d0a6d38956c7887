"""The warm-up graded end to end through the CLI, on both backends: each example scores as it must."""
import dataclasses
import json
import subprocess
import sys

import pytest

from grader import assignments, pipeline
from tests.conftest import BACKENDS, EXAMPLES, ROOT

QL = assignments.get("qlearning-cliffwalking")

FULL = {"epsilon_greedy": 30.0, "q_update": 30.0, "learning_curve": 40.0}
# example file -> the checks it must lose (all others keep full points)
EXPECTED_LOSSES = {
    "passes_all.py": {},
    "wrong_inverted_epsilon.py": {"epsilon_greedy": "1 - epsilon"},
    # The environment, like gymnasium's, takes integer actions only: training fails too.
    "wrong_returns_float.py": {"epsilon_greedy": "must return an int", "learning_curve": "an integer"},
    "wrong_no_learning_rate.py": {"q_update": "learning rate is missing"},
    "wrong_terminal_bootstrap.py": {"q_update": "ignores `terminated`"},
    # train() relies on the update being in place, so the agent cannot learn either.
    "wrong_not_in_place.py": {"q_update": "in place", "learning_curve": "0 of 5 runs"},
    "times_out.py": {"learning_curve": "time limit"},
}


def grade(path, backend, *extra):
    proc = subprocess.run([sys.executable, "manage.py", "grade", "qlearning-cliffwalking", str(path), "--json",
                           "--backend", backend, *extra], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc


def example_backends():
    """The reference on both backends, every other example on one of them in turn (each backend grades about half):
    the backends' sameness is tests/sandbox's, this test is the checks'."""
    for i, example in enumerate(sorted(EXPECTED_LOSSES)):
        for backend in BACKENDS if example == "passes_all.py" else [BACKENDS[i % len(BACKENDS)]]:
            yield pytest.param(example, backend.values[0], marks=backend.marks, id=f"{example}-{backend.values[0]}")


@pytest.mark.parametrize("example, backend", list(example_backends()))
def test_each_example_loses_exactly_the_points_of_the_check_it_breaks(example, backend):
    proc = grade(EXAMPLES / example, backend)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "graded"
    scores = {c["id"]: c["score"] for c in report["checks"]}
    losses = EXPECTED_LOSSES[example]
    for check_id, full in FULL.items():
        if check_id in losses:
            assert scores[check_id] == 0.0, report
            feedback = next(c["feedback"] for c in report["checks"] if c["id"] == check_id)
            assert losses[check_id] in feedback
        else:
            assert scores[check_id] == full, report
    assert report["score"] == sum(scores.values())


# example -> (the check that recognises its mistake, the mistake's id in that check's details; README.md)
MISTAKES = {
    "wrong_inverted_epsilon.py": ("epsilon_greedy", "epsilon_inverted"),
    "wrong_min_target.py": ("q_update", "min_instead_of_max"),
    "wrong_no_learning_rate.py": ("q_update", "alpha_missing"),
    "wrong_terminal_bootstrap.py": ("q_update", "terminal_bootstrap"),
    "wrong_not_in_place.py": ("q_update", "update_not_in_place"),
}


def unit_check(example, check_id, config):
    """One unit check's result for an example, graded through the pipeline without training."""
    path = EXAMPLES / example
    return pipeline.grade(QL, path.name, path.read_bytes(), config, only=[check_id]).checks[0]


@pytest.mark.parametrize("example", sorted(MISTAKES))
def test_a_known_mistake_is_named_by_its_id_in_the_checks_details(example, grading_config):
    check_id, mistake = MISTAKES[example]
    assert unit_check(example, check_id, grading_config).details.get("mistake") == mistake


# The styles students copy (README.md, "Decisions"), each adapted to the contract and nothing more.
PASSES = ["passes_all.py", "passes_hf_course.py", "passes_gymnasium_agent.py", "passes_chat_assistant.py",
          "passes_policy_probabilities.py", "passes_plain_python.py"]


@pytest.mark.parametrize("example", PASSES)
def test_each_correct_style_gets_every_unit_point(example, grading_config):
    path = EXAMPLES / example
    report = pipeline.grade(QL, path.name, path.read_bytes(), grading_config, only=["epsilon_greedy", "q_update"])
    assert report.score == report.max_score == 60, report.checks


def test_a_function_that_raises_on_its_documented_input_is_told_the_documented_input(grading_config):
    """The Hugging Face course's epsilon_greedy_policy(Qtable, state, epsilon), without the rng."""
    source = (EXAMPLES / "passes_hf_course.py").read_text().replace(
        "def epsilon_greedy(Q, state, epsilon, rng):", "def epsilon_greedy(Q, state, epsilon):")
    report = pipeline.grade(QL, "ql.py", source.encode(), grading_config, only=["epsilon_greedy"])
    feedback = report.checks[0].feedback
    assert report.score == 0
    assert "rng as a numpy Generator" in feedback
    assert "TypeError" in feedback


def short_limits(**limits):
    return dataclasses.replace(QL, spec=QL.spec.model_copy(update={"limits": QL.spec.limits.model_copy(update=limits)}))


def test_a_file_that_never_finishes_loading_is_told_the_limit_and_the_usual_cause(grading_config):
    source = (EXAMPLES / "passes_all.py").read_text().split("if __name__")[0] + "while True:\n    pass\n"
    report = pipeline.grade(short_limits(request_timeout_s=2), "ql.py", source.encode(), grading_config,
                            only=["q_update"])
    assert report.checks[0].feedback == (
        "Loading your file did not finish within its time limit of 2 s. The grader loads your file (runs its top "
        'level) before any check: put training, episodes played to try things out and plots under `if __name__ '
        '== "__main__":`, and look for a loop that never ends. The q_update check could not finish.')


def test_a_training_run_out_of_time_is_told_the_limit_the_episode_and_the_usual_cause(grading_config):
    source = (EXAMPLES / "passes_all.py").read_text().replace(
        "    return Q\n", "    while True:\n        pass\n", 1)
    curve = QL.spec.learning_curve.model_copy(update={"seeds": (1103,), "run_timeout_s": 3, "episodes": 3})
    assignment = dataclasses.replace(QL, spec=QL.spec.model_copy(update={"learning_curve": curve}))
    report = pipeline.grade(assignment, "ql.py", source.encode(), grading_config, only=["learning_curve"])
    feedback = report.checks[0].feedback
    assert "run 1: train() did not finish within its time limit of 3 s. Usual causes: an episode loop" in feedback
    assert "It ran out after 3 training episodes had ended (the last after" in feedback


def test_a_failure_with_no_diagnosis_names_no_mistake(grading_config):
    assert "mistake" not in unit_check("wrong_returns_float.py", "epsilon_greedy", grading_config).details


def test_min_instead_of_max_fails_the_update_and_the_learning_curve():
    report = json.loads(grade(EXAMPLES / "wrong_min_target.py", "bwrap").stdout)
    scores = {c["id"]: c["score"] for c in report["checks"]}
    assert scores["q_update"] == 0
    assert scores["learning_curve"] < 40
    assert scores["epsilon_greedy"] == 30


@pytest.mark.parametrize("example, message", [
    ("syntax_error.py", "does not parse (line"),
    ("fails_on_import.py", "leftover experiment code"),
])
def test_a_file_that_cannot_run_scores_zero_with_the_reason(example, message):
    report = json.loads(grade(EXAMPLES / example, "bwrap").stdout)
    assert report["status"] == "graded"
    assert report["score"] == 0
    assert all(message in c["feedback"] for c in report["checks"])


def test_the_report_matches_the_documented_schema():
    report = json.loads(grade(EXAMPLES / "passes_all.py", "bwrap").stdout)
    assert {"assignment", "status", "score", "max_score", "checks", "curves", "output_tail"} <= set(report)
    assert report["max_score"] == 100.0
    assert report["score"] == 100.0
    curve = report["checks"][-1]["details"]
    assert {"metric", "value", "threshold", "ci95"} <= set(curve)
    assert len(report["curves"]) == 5
    assert all(len(c["episode_returns"]) == 200 for c in report["curves"])


def test_the_same_submission_gets_the_same_report():
    first = json.loads(grade(EXAMPLES / "wrong_min_target.py", "bwrap").stdout)
    second = json.loads(grade(EXAMPLES / "wrong_min_target.py", "bwrap").stdout)
    assert first["checks"] == second["checks"]
    assert first["curves"] == second["curves"]


def test_the_notebook_template_runs_and_says_what_is_missing(tmp_path):
    report = json.loads(grade(ROOT / "assignments" / "qlearning-cliffwalking" / "template.ipynb", "bwrap").stdout)
    assert report["score"] == 0
    assert "not implemented yet" in report["checks"][0]["feedback"]
    assert any("!pip install" in n for n in report["notices"])
    assert any("NotImplementedError" in n and "went on with the other cells" in n for n in report["notices"])


def test_a_solved_notebook_from_colab_gets_full_marks(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("!pip install gymnasium\n%matplotlib inline"),
                nbformat.v4.new_code_cell((EXAMPLES / "passes_all.py").read_text().split('if __name__')[0]),
                nbformat.v4.new_code_cell("print('done training')")]
    path = tmp_path / "Copy of template.ipynb"
    nbformat.write(nb, path)
    report = json.loads(grade(path, "bwrap").stdout)
    assert report["score"] == 100
    assert len(report["notices"]) == 2
    assert "done training" in report["output_tail"]


def test_usage_errors_exit_2_and_bad_files_exit_1(tmp_path):
    assert grade(tmp_path / "missing.py", "bwrap").returncode == 2
    proc = subprocess.run([sys.executable, "manage.py", "grade", "no-such-assignment", str(EXAMPLES / "passes_all.py")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown assignment" in proc.stderr
    bad = tmp_path / "solution.txt"
    bad.write_text("x = 1")
    proc = grade(bad, "bwrap")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["status"] == "error"
    assert "not a .py or .ipynb" in report["error"]


def test_every_correct_style_in_the_examples_is_graded_above():
    assert {p.name for p in EXAMPLES.glob("passes_*")} <= set(PASSES)
