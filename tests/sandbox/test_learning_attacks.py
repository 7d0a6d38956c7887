"""The attack suite: dishonest submissions, written by someone who has read the grader's source, that play well
without having learned. Each one (a file in attacks/, named by its trick) earns no learning-curve points, on both
sandbox backends, and is told why in the check's feedback.

Each file would have earned full learning-curve credit before this suite existed: a hand-written CartPole
controller balances the pole for the whole episode, and the warm-up's hand-written table walks the best path
(``test_the_tricks_play_at_full_credit`` shows it for the controllers). The runs are shortened (two seeds, fewer
episodes) to keep the suite fast: the tricks do not need training to play well, and the refusals do not depend on
the length of training.
"""
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from grader import assignments, pipeline
from tests.conftest import BACKENDS

ATTACKS = Path(__file__).parent / "attacks"

SHORT = {  # the spec's learning curve, shortened: two hidden seeds, fewer episodes
    "dqn-cartpole": {"seeds": (811, 1622), "max_episodes": 100, "min_episodes": 50, "max_episode_steps": 200},
    "reinforce-cartpole": {"seeds": (811, 1622), "episodes": 60, "max_episode_steps": 200},
    "actor-critic-cartpole": {"seeds": (811, 1622), "episodes": 60, "max_episode_steps": 200},
    "qlearning-cliffwalking": {"seeds": (811, 1622), "episodes": 50, "runs_required": 2},
}
SLUGS = {"dqn": "dqn-cartpole", "reinforce": "reinforce-cartpole", "actor_critic": "actor-critic-cartpole",
         "qlearning": "qlearning-cliffwalking"}

# attack -> words its feedback must contain (why it earns nothing)
EXPECTED = {
    "dqn_swap_q_for_a_controller_after_training.py": "Greedy return",
    "dqn_network_hands_over_after_n_calls.py": "Greedy return",
    "dqn_controller_in_eval_mode_under_no_grad.py": "Greedy return",
    "dqn_controller_patched_into_torch.py": "Greedy return",
    "dqn_handmade_weights_loaded_before_the_first_update.py": "changed by something other than its optimiser's steps",
    "dqn_second_network_stepped_the_most.py": "did not exist when training began",
    "reinforce_policy_hands_over_after_n_calls.py": "parameters shuffled it still scored",
    "reinforce_controller_for_single_states_without_gradients.py": "parameters shuffled it still scored",
    "reinforce_controller_in_a_forward_hook.py": "parameters shuffled it still scored",
    "reinforce_controller_switched_on_by_a_buffer.py": "parameters shuffled it still scored",
    "reinforce_controller_in_call_by_a_metaclass.py": "parameters shuffled it still scored",
    "reinforce_train_returns_another_object.py": "were trained by an optimiser step",
    "dqn_weights_written_through_the_optimiser_after_training.py": "optimiser steps changed the network after",
    "actor_critic_controller_after_n_optimiser_steps.py": "parameters shuffled it still scored",
    "actor_critic_controller_after_some_seconds.py": "parameters shuffled it still scored",
    "qlearning_handmade_table_after_random_play.py": "is not the one Q-learning makes from the",
    "qlearning_learned_table_edited_by_hand.py": "is not the one Q-learning makes from the",
}


def slug_of(attack: str) -> str:
    return next(slug for prefix, slug in SLUGS.items() if attack.startswith(prefix + "_"))


def short(slug):
    folder = assignments.get(slug)
    curve = folder.spec.learning_curve.model_copy(update=SHORT[slug])
    return dataclasses.replace(folder, spec=folder.spec.model_copy(update={"learning_curve": curve}))


def test_every_attack_file_is_tested():
    assert sorted(p.name for p in ATTACKS.glob("*.py")) == sorted(EXPECTED)


def test_there_are_attacks_on_every_assignment_with_a_learning_curve():
    assert {slug_of(a) for a in EXPECTED} == set(SHORT)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("attack", sorted(EXPECTED))
def test_an_attack_earns_no_learning_curve_points(attack, backend):
    folder = short(slug_of(attack))
    config = pipeline.GradingConfig(backend=backend, parallel_runs=2)
    source = (ATTACKS / attack).read_bytes()
    report = pipeline.grade(folder, "attack.py", source, config, only=("learning_curve",))
    check = report.checks[0]
    assert check.score == 0, check.feedback
    assert EXPECTED[attack] in check.feedback, check.feedback
    if attack.startswith("dqn_"):  # the trick ran (the script prints when it does), and still earned nothing
        assert "trick: " in report.output_tail, report.output_tail[-2000:]


def _definitions(attack: str) -> dict:
    """The imports, functions and classes of an attack file, run here without its top-level training."""
    import ast

    tree = ast.parse((ATTACKS / attack).read_text())
    tree.body = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))]
    namespace: dict = {"__name__": "attack"}
    exec(compile(tree, attack, "exec"), namespace)  # noqa: S102 - the suite's own file
    return namespace


@pytest.mark.parametrize("attack", ["reinforce_policy_hands_over_after_n_calls.py",
                                    "actor_critic_controller_after_n_optimiser_steps.py"])
def test_the_tricks_play_at_full_credit(attack):
    """The controller these files hand over to balances the pole for a whole episode: without the grader's
    defences they would earn full credit."""
    import gymnasium

    controller = _definitions(attack)["controller"]
    env = gymnasium.make("CartPole-v1", max_episode_steps=500)
    obs, _ = env.reset(seed=3)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(torch.argmax(controller(obs))))
        total += reward
        done = terminated or truncated
    assert total == 500


def test_the_hand_made_table_walks_the_best_path():
    Q = _definitions("qlearning_handmade_table_after_random_play.py")["optimal_path"]()
    checks = assignments.get("qlearning-cliffwalking").check_functions()
    assert checks.greedy_return(Q, "CliffWalking-v1", 1, 100) == (-13.0, True)


def test_the_hand_made_weights_compute_the_controller():
    """The DQN attacks' weights in the template's architecture compute the controller's values exactly."""
    from grader.kit import MLP

    namespace = _definitions("dqn_handmade_weights_loaded_before_the_first_update.py")

    weights = [w.numpy() for w in namespace["handmade_weights"]().values()]
    obs = [0.01, 0.2, -0.03, 0.1]
    assert np.allclose(MLP((4, 64, 64, 2)).network(weights)(obs), namespace["controller"](obs).numpy(), atol=1e-6)
