"""Actor-critic: each function checked for the classic mistakes, named; the whole thing trained through the CLI."""
import json
import subprocess
import sys

import pytest

from grader import assignments, kit, pipeline
from tests.conftest import ROOT

AC = assignments.get("actor-critic-cartpole")
EXAMPLES = AC.path / "examples"
UNITS = ["model", "select_action", "td_targets", "actor_critic_loss"]

# example -> {check it must lose: (the mistake's id, words its feedback must contain)}
EXPECTED = {
    "passes_all.py": {},
    "passes_functional.py": {},
    "passes_per_step.py": {},
    "passes_sum_half.py": {},
    "wrong_advantage_not_detached.py": {"actor_critic_loss": ("advantage_not_detached", "advantage.detach()")},
    "wrong_target_not_detached.py": {"td_targets": ("target_not_detached", "Detach V(s')")},
    "wrong_bootstraps_terminal.py": {"td_targets": ("bootstraps_terminal", "a terminal state has no future")},
    "wrong_truncation_as_termination.py": {"td_targets": ("truncation_as_termination", "where an episode was "
                                                                                       "truncated")},
    "wrong_actor_sign_reversed.py": {"actor_critic_loss": ("actor_sign_reversed", "sign is backwards")},
    "wrong_critic_missing.py": {"actor_critic_loss": ("critic_missing", "squared error")},
}


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_each_function_is_checked_on_its_own(example, grading_config):
    report = pipeline.grade(AC, example, (EXAMPLES / example).read_bytes(), grading_config, only=UNITS)
    assert report.status == "graded"
    assert report.max_score == 60
    for check in report.checks:
        if check.id in EXPECTED[example]:
            mistake, words = EXPECTED[example][check.id]
            assert check.score == 0, check
            assert check.details.get("mistake") == mistake, check
            assert words in check.feedback, check.feedback
        else:
            assert check.score == check.max_score, check


@pytest.mark.parametrize("template", ["template.py", "template.ipynb"])
def test_the_template_runs_and_says_each_part_is_not_written_yet(template, grading_config):
    path = AC.file(template)
    report = pipeline.grade(AC, path.name, path.read_bytes(), grading_config, only=UNITS)
    assert [c.score for c in report.checks] == [0, 0, 0, 0]
    assert all("not implemented yet" in c.feedback for c in report.checks)


def unit_result(source, check_id, config):
    return pipeline.grade(AC, "ac.py", source.encode(), config, only=[check_id]).checks[0]


def reference():
    return (EXAMPLES / "passes_all.py").read_text()


@pytest.mark.parametrize("old, new, check, mistake", [
    # A batch's values of shape (batch, 1): targets - values broadcasts to (batch, batch).
    (".squeeze(-1)", "", "model", "values_not_squeezed"),
    # The value handed back without its gradient.
    ("return int(action.item()), distribution.log_prob(action), value",
     "return int(action.item()), distribution.log_prob(action), value.detach()", "select_action", "value_detached"),
    # The mask the wrong way round.
    ("* (1.0 - terminated)", "* terminated", "td_targets", "terminal_mask_inverted"),
    # The actor weighted by the target instead of the advantage.
    ("-(log_probs * advantages.detach())", "-(log_probs * targets)", "actor_critic_loss", "actor_uses_target"),
])
def test_more_mistakes_are_named(old, new, check, mistake, grading_config):
    source = reference()
    assert old in source, old
    result = unit_result(source.replace(old, new), check, grading_config)
    assert result.score == 0, result.feedback
    assert result.details.get("mistake") == mistake, result.feedback


def test_a_correct_td_targets_is_not_blamed_for_a_train_that_cannot_run_on_the_scripted_environment(grading_config):
    """The truncation probe runs train() on a small scripted environment; a train() that raises there leaves the
    verdict to the learning curve, and td_targets keeps its points."""
    source = reference().replace("def train(env, episodes, gamma=0.99, lr=1e-3, seed=0):",
                                 "def train(env, episodes, gamma=0.99, lr=1e-3, seed=0):\n"
                                 "    assert env.spec is not None\n")
    assert "assert env.spec" in source
    result = unit_result(source, "td_targets", grading_config)
    assert result.score == result.max_score, result.feedback


def test_a_select_action_that_calls_the_two_networks_directly_is_given_known_ones(grading_config):
    """The template keeps `self.actor` and `self.critic`; a select_action that calls them instead of forward gets
    the known probabilities and value from them too."""
    source = reference()
    old = "    probs, value = model(state)\n    distribution = torch.distributions.Categorical(probs=probs)\n"
    assert old in source
    direct = source.replace(old, "    x = torch.as_tensor(state, dtype=torch.float32)\n"
                                 "    logits, value = model.actor(x), model.critic(x).squeeze(-1)\n"
                                 "    distribution = torch.distributions.Categorical(logits=logits)\n")
    result = unit_result(direct, "select_action", grading_config)
    assert result.score == result.max_score, result.feedback


def test_evaluation_chooses_the_actor_s_most_likely_action_through_the_assignment_s_chooser():
    """forward returns (probs, values): the kit's plain argmax cannot choose from a pair; the assignment's chooser
    takes the argmax of the probabilities. Both run on the trusted side, on what the network's outputs decode to."""
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("ac_reference", AC.file("reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = AC.check_functions()
    assert checks.TRAINING.chooser is kit.ARGMAX_OF_FIRST
    torch.manual_seed(3)
    model = module.ActorCritic()
    with torch.no_grad():
        probs, value = model(torch.tensor([0.02, -0.3, 0.05, 0.4]))
    decoded = [probs.numpy(), value.numpy()]  # as the sandbox's answer decodes: a list of arrays
    assert checks.TRAINING.chooser(decoded) == int(probs.argmax())
    with pytest.raises(kit.StudentCodeError):
        kit.ARGMAX(decoded)  # a pair has no single argmax


def grade_cli(example, backend="bwrap"):
    proc = subprocess.run([sys.executable, "manage.py", "grade", "actor-critic-cartpole", str(EXAMPLES / example),
                           "--json", "--backend", backend], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.bwrap
def test_the_reference_learns_and_gets_full_marks_through_the_cli():
    report = grade_cli("passes_all.py")
    curve = next(c for c in report["checks"] if c["id"] == "learning_curve")
    assert curve["score"] == 40, curve["feedback"]
    assert report["score"] == 100
    assert curve["details"]["value"] >= curve["details"]["threshold"]
    assert any(at for at in curve["details"]["full_credit_at"]), curve["details"]  # runs stopped at full credit


@pytest.mark.bwrap
def test_bootstrapping_through_terminal_states_does_not_learn():
    report = grade_cli("wrong_bootstraps_terminal.py")
    curve = next(c for c in report["checks"] if c["id"] == "learning_curve")
    assert curve["score"] == 0, curve["feedback"]
    assert curve["details"]["value"] < 20
