"""The DQN workshop: each gap checked on its own, however the line is written; the whole script trained."""
import dataclasses
import json
import subprocess
import sys

import pytest

from grader import assignments, kit, pipeline
from tests.conftest import ROOT

DQN = assignments.get("dqn-cartpole")
EXAMPLES = DQN.path / "examples"
GAPS = ["td_target", "td_loss", "explore_action", "greedy_action", "env_step"]

# example -> {gap it must lose: words its feedback must contain}
EXPECTED = {
    "passes_all.py": {},
    "passes_all_other_forms_no_markers.py": {},
    # The styles students copy (README.md, "Decisions"), each adapted to the workshop's names and nothing more.
    "passes_cleanrl.py": {},  # a `device` from the top of the file, F.mse_loss(target, estimate), a 0-d action
    "passes_pytorch_tutorial.py": {},  # a `criterion` object made at the top, .max(1).indices on a batch of one
    "passes_sb3_style.py": {},  # `import torch as th`, argmax(dim=1).reshape(-1)
    "passes_udacity_drlnd.py": {},  # the target from q_target(s2).max(1)[0], the loss gathering q(s) itself
    "passes_chat_assistant.py": {},  # random.randint(0, n_actions - 1) with the template's n_actions
    "wrong_mask_inverted.py": {"td_target": "mask is inverted"},
    "wrong_loss_sum.py": {"td_loss": "sum of squares"},
    "wrong_loss_item.py": {"td_loss": "keep it a tensor"},
    "wrong_explore_always_zero.py": {"explore_action": "equally often"},
    "wrong_greedy_argmin.py": {"greedy_action": "argmax"},
    "wrong_four_value_step.py": {"env_step": "five values"},
    "template.py": {gap: "still `...`" for gap in GAPS},
    # From Colab: `!pip` and `%` lines, outputs, extra prints, a renamed helper, a changed hyperparameter,
    # the workshop's own solution lines (with gymnasium's five-value step).
    "colab_workshop_lines.ipynb": {},
    # The workshop's own notebook as its slides finish it: `import gym`, reset() as the observation, a
    # four-value step. Graded on gymnasium: the four other lines are right.
    "wrong_workshop_old_gym_api.ipynb": {"env_step": "five values"},
}


def gap_report(path, config):
    return pipeline.grade(DQN, path.name, path.read_bytes(), config, only=GAPS)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_each_gap_is_graded_on_its_own(example, grading_config):
    path = EXAMPLES / example if example != "template.py" else DQN.file("template.py")
    report = gap_report(path, grading_config)
    assert report.status == "graded"
    assert report.max_score == 50
    for check in report.checks:
        if check.id in EXPECTED[example]:
            assert check.score == 0, check
            assert EXPECTED[example][check.id] in check.feedback, check.feedback
        else:
            assert check.score == check.max_score, check


# example -> (the gap that recognises its mistake, the mistake's id in that check's details; README.md)
MISTAKES = {
    "wrong_mask_inverted.py": ("td_target", "mask_inverted"),
    "wrong_loss_sum.py": ("td_loss", "loss_sum_not_mean"),
    "wrong_loss_item.py": ("td_loss", "loss_detached"),
    "wrong_explore_always_zero.py": ("explore_action", "explore_not_random"),
    "wrong_greedy_argmin.py": ("greedy_action", "greedy_argmin"),
    "wrong_four_value_step.py": ("env_step", "four_value_step"),
}


def gap_result(name, data, gap, config):
    return pipeline.grade(DQN, name, data, config, only=[gap]).checks[0]


@pytest.mark.parametrize("example", sorted(MISTAKES))
def test_a_known_mistake_is_named_by_its_id_in_the_checks_details(example, grading_config):
    gap, mistake = MISTAKES[example]
    path = EXAMPLES / example
    assert gap_result(path.name, path.read_bytes(), gap, grading_config).details.get("mistake") == mistake


@pytest.mark.parametrize("gap", GAPS)
def test_a_gap_left_as_in_the_template_is_the_mistake_gap_not_filled(gap, grading_config):
    path = DQN.file("template.py")
    assert gap_result(path.name, path.read_bytes(), gap, grading_config).details.get("mistake") == "gap_not_filled"


def test_a_deleted_gap_line_is_the_mistake_gap_line_missing(grading_config):
    source = (EXAMPLES / "passes_all.py").read_text()
    line = "        s2, r, terminated, truncated, _ = env.step(int(a))  # FILL IN: env_step\n"
    assert line in source
    result = gap_result("dqn.py", source.replace(line, "").encode(), "env_step", grading_config)
    assert result.details.get("mistake") == "gap_line_missing"


def test_a_huber_loss_is_named_and_told_the_workshop_asks_for_the_mean_squared_error(grading_config):
    source = (EXAMPLES / "passes_sb3_style.py").read_text()
    line = "loss = F.mse_loss(q_estimates, y)"
    assert line in source
    result = gap_result("dqn.py", source.replace(line, "loss = F.smooth_l1_loss(q_estimates, y)").encode(), "td_loss",
                        grading_config)
    assert result.score == 0
    assert result.details.get("mistake") == "loss_huber"
    assert "mean squared error" in result.feedback


def test_a_line_that_raises_is_told_what_it_was_given(grading_config):
    """CleanRL's own name for the maximum, `target_max`, which the workshop's template calls max_next_q."""
    source = (EXAMPLES / "passes_cleanrl.py").read_text()
    line = "y = r + gamma * max_next_q * m"
    assert line in source
    result = gap_result("dqn.py", source.replace(line, "y = r + gamma * target_max * m").encode(), "td_target",
                        grading_config)
    assert result.score == 0
    assert "This line gets r, m and max_next_q as float32 tensors of shape (batch, 1)" in result.feedback
    assert "NameError" in result.feedback
    assert "neither among these nor assigned" in result.feedback


def test_a_line_gets_the_top_level_names_it_uses_and_nothing_that_cannot_run():
    from grader.assignments import get

    checks = get("dqn-cartpole").check_functions()
    source = (EXAMPLES / "passes_pytorch_tutorial.py").read_text()
    assert checks._context(source, "loss = criterion(q_estimates, y)", {"q_estimates", "y", "nn"}) == \
        "criterion = nn.MSELoss()"
    context = checks._context(source, "a = random.randrange(n_actions)", {"env", "random"})
    assert context == "n_obs, n_actions = (env.observation_space.shape[0], env.action_space.n)"
    # `q = QNetwork()` needs a class of the file, which a line is not given: left out.
    assert checks._context(source, "a = q2(s)", {"s"}) == ""


def test_gaps_are_found_with_or_without_their_markers():
    source = (EXAMPLES / "passes_all_other_forms_no_markers.py").read_text()
    assert "FILL IN: td_target" not in source
    found = kit.find_gaps(source, GAPS, DQN.check_functions()._structural)
    assert found["td_target"].code == "y = r + gamma * max_next_q * m"
    assert found["td_loss"].code == "loss = torch.nn.functional.mse_loss(q_estimates, y)"
    assert found["explore_action"].code == "a = random.randint(0, 1)"
    assert found["env_step"].code.startswith("s2, r, terminated, truncated, info = env.step")


def test_a_wrong_line_is_reported_at_its_line_number(grading_config):
    report = gap_report(EXAMPLES / "wrong_four_value_step.py", grading_config)
    step = next(c for c in report.checks if c.id == "env_step")
    line = next(i for i, text in enumerate((EXAMPLES / "wrong_four_value_step.py").read_text().splitlines(), 1)
                if "FILL IN: env_step" in text)
    assert step.feedback.startswith(f"Line {line}: `s2, r, terminated, _ = env.step(int(a))`")


def test_the_template_names_exactly_five_gaps():
    lines = [line for line in DQN.file("template.py").read_text().splitlines() if kit.MARKER.search(line)]
    assert [kit.MARKER.search(line).group(1) for line in lines] == \
        ["td_target", "td_loss", "explore_action", "greedy_action", "env_step"]


def test_same_submission_same_seeds_same_score(grading_config):
    """Training is reproducible: two gradings (two runs each, on a short budget) give the same curves and
    evaluations; a different hidden seed gives different ones."""
    curve = DQN.spec.learning_curve.model_copy(update={"seeds": (811, 1622), "max_episodes": 60})
    short = dataclasses.replace(DQN, spec=DQN.spec.model_copy(update={"learning_curve": curve}))
    data = (EXAMPLES / "passes_all.py").read_bytes()
    first, second = (pipeline.grade(short, "dqn.py", data, grading_config, only=["learning_curve"]) for _ in range(2))
    assert first.status == second.status == "graded"
    assert first.curves == second.curves
    assert all(len(c["episode_returns"]) >= 50 for c in first.curves)
    assert first.checks[0].details == second.checks[0].details
    assert first.checks[0].score == second.checks[0].score
    assert first.curves[0]["episode_returns"] != first.curves[1]["episode_returns"]


@pytest.mark.parametrize("backend, example", [
    pytest.param("docker", "passes_all.py", marks=pytest.mark.docker),
    pytest.param("bwrap", "colab_workshop_lines.ipynb", marks=pytest.mark.bwrap),
])
def test_a_correct_script_trains_and_gets_full_marks_through_the_cli(backend, example):
    proc = subprocess.run([sys.executable, "manage.py", "grade", "dqn-cartpole",
                           str(EXAMPLES / example), "--json", "--backend", backend],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    scores = {c["id"]: c["score"] for c in report["checks"]}
    assert all(scores[g] == 10 for g in GAPS)
    curve = next(c for c in report["checks"] if c["id"] == "learning_curve")
    assert curve["score"] == 50, curve
    assert curve["details"]["value"] >= 150, curve
    # Each run trained its 150 episodes (after the random ones that fill the replay buffer), or stopped at the
    # evaluation that found it at full credit; the report says where.
    assert len(report["curves"]) == 5 - curve["details"]["runs_skipped"]
    # One full_credit_at per run; the runs skipped (the last ones) have no curve.
    for run, c in zip(curve["details"]["full_credit_at"], report["curves"], strict=False):
        assert len(c["episode_returns"]) == run if run else len(c["episode_returns"]) > 150, c["label"]
    assert "reached full credit at episode" in curve["feedback"]


# example -> (the learning curve's score, words its feedback must contain): graded end to end through the CLI.
BROKEN_THROUGH_THE_CLI = {
    # The mask keeps bootstrapping past the pole's fall and zeroes it everywhere else: nothing is learned.
    "wrong_mask_inverted.py": (0, "per run:"),
    # Crashes in every run; the feedback carries the error the student's loop raised.
    "wrong_four_value_step.py": (0, "too many values to unpack (expected 4)"),
    "wrong_loss_item.py": (0, "'float' object has no attribute 'backward'"),
    # Q-learning is off-policy: a network trained while acting by argmin still learns Q, and the greedy
    # evaluation (argmax on the trusted side) credits it; only the gap's own points are lost.
    "wrong_greedy_argmin.py": (50, "Full credit from 150"),
}


@pytest.mark.bwrap
@pytest.mark.parametrize("example", sorted(BROKEN_THROUGH_THE_CLI))
def test_a_broken_script_is_graded_end_to_end_through_the_cli(example):
    proc = subprocess.run([sys.executable, "manage.py", "grade", "dqn-cartpole",
                           str(EXAMPLES / example), "--json", "--backend", "bwrap"],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "graded"
    scores = {c["id"]: c["score"] for c in report["checks"]}
    (lost_gap,) = EXPECTED[example]
    assert scores[lost_gap] == 0
    assert all(scores[g] == 10 for g in GAPS if g != lost_gap)
    curve_score, words = BROKEN_THROUGH_THE_CLI[example]
    curve = next(c for c in report["checks"] if c["id"] == "learning_curve")
    assert curve["score"] == curve_score, curve
    assert words in curve["feedback"], curve
    assert report["score"] == 40 + curve_score
    assert len(report["curves"]) == 5


def test_every_correct_style_in_the_examples_is_graded_above():
    assert {p.name for p in EXAMPLES.glob("passes_*")} <= set(EXPECTED)


@pytest.mark.bwrap
def test_the_workshops_notebook_with_import_gym_is_graded_on_gymnasium_and_its_old_api_named():
    proc = subprocess.run([sys.executable, "manage.py", "grade", "dqn-cartpole",
                           str(EXAMPLES / "wrong_workshop_old_gym_api.ipynb"), "--json", "--backend", "bwrap"],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert any("graded with gymnasium" in notice for notice in report["notices"]), report["notices"]
    checks = {c["id"]: c for c in report["checks"]}
    assert [g for g in GAPS if checks[g]["score"] == 10] == ["td_target", "td_loss", "explore_action", "greedy_action"]
    step = checks["env_step"]
    assert step["details"]["mistake"] == "four_value_step"
    # Where the student sees it: the notebook's cell and the line in it, not the generated script's line.
    assert step["feedback"].startswith("Cell 9, line 14: `s2, r, done, _ = env.step(int(a))`"), step["feedback"]
    curve = checks["learning_curve"]
    assert curve["score"] == 0
    assert curve["details"]["mistake"] == "reset_as_observation"
    assert "cell 9, line 4 `s = env.reset()`: in gymnasium, reset() returns (observation, info)" in curve["feedback"]
    assert report["score"] == 40
