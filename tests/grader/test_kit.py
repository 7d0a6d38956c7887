"""The check-author kit: mistakes, verdicts, choosers, the trusted network, replay, the warm-up's k-of-n rule."""
import numpy as np
import pytest

from grader import kit
from grader.learning.outcome import k_of_n_outcome
from grader.learning.training import RunBoard, TrainingRun
from grader.spec import LearningCurveSpec

K_OF_N = LearningCurveSpec(env="CliffWalking-v1", seeds=(1, 2, 3), run_timeout_s=10, threshold=-17.0,
                           runs_required=2)
TIERS = LearningCurveSpec(env="CartPole-v1", seeds=(1, 2, 3, 4, 5), run_timeout_s=10,
                          tiers=({"min_iqm": 60.0, "credit": 1.0},))


def test_the_first_mistake_a_value_matches_is_named_in_order():
    got = np.array([1.0, 2.0])
    mistake = kit.first_mistake(got, [(np.array([0.0, 2.0]), "a", "why a"), (np.array([1.0, 2.0]), "b", "why b"),
                                      (np.array([1.0, 2.0]), "c", "why c")])
    assert mistake == kit.Mistake("b", "why b")


def test_no_mistake_matches_a_value_of_another_shape():
    assert kit.first_mistake(np.array([1.0, 2.0]), [(np.array([1.0, 2.0, 3.0]), "a", "")]) is None


def test_a_failed_verdict_carries_its_mistake_id_and_none_when_unnamed():
    assert kit.failed("x", mistake=kit.Mistake("gamma_missing", "")).details == {"mistake": "gamma_missing"}
    assert kit.failed("x", mistake="").details == {}


def test_the_argmax_chooser_picks_the_largest_output_here():
    assert kit.ARGMAX(np.array([0.2, 0.7])) == 1


def test_the_actor_chooser_picks_the_most_likely_action_of_the_pair():
    assert kit.ARGMAX_OF_FIRST([np.array([0.9, 0.1]), np.array([3.0])]) == 0


@pytest.mark.parametrize("output, words", [
    (np.array([[0.1, 0.2], [0.3, 0.4]]), "one value per action"),
    (np.array([np.nan, 1.0]), "NaN or infinite"),
    ("push left", "one value per action"),
    (np.array(3.0), "one value per action"),
])
def test_an_output_no_action_can_be_chosen_from_is_the_student_s_error_in_words(output, words):
    with pytest.raises(kit.StudentCodeError, match=words):
        kit.ARGMAX(output)


def test_a_pair_is_needed_by_the_actor_chooser():
    with pytest.raises(kit.StudentCodeError, match="pair"):
        kit.ARGMAX_OF_FIRST(np.array([0.5, 0.5]))


def test_the_trusted_mlp_computes_what_torch_s_sequential_computes():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 2))
    arrays = [p.detach().numpy() for p in net.parameters()]
    obs = [0.03, -0.2, 0.05, 0.3]
    want = net(torch.tensor(obs)).detach().numpy()
    assert np.allclose(kit.MLP((4, 64, 64, 2)).network(arrays)(obs), want, atol=1e-5)


def test_parameters_of_another_architecture_are_named_with_what_changed():
    arrays = [np.zeros((128, 4)), np.zeros(128), np.zeros((2, 128)), np.zeros(2)]
    message = kit.MLP((4, 64, 64, 2)).mismatch(arrays)
    assert "(128, 4)" in message
    assert "Keep the template's QNetwork" in message


def test_fresh_parameters_fit_the_architecture():
    mlp = kit.MLP((4, 64, 64, 2))
    assert mlp.mismatch(mlp.fresh(np.random.default_rng(0))) == ""


def test_q_learning_replayed_gives_the_lesson_s_example():
    from grader.envhost import Transition

    steps = [Transition(0, 1, -1.0, 1, False, False), Transition(1, 0, -1.0, 2, True, False)]
    Q = kit.replay_q_learning(steps, (3, 2), alpha=0.7, gamma=0.99)
    assert Q[0, 1] == pytest.approx(-0.7)
    assert Q[1, 0] == pytest.approx(-0.7)


def test_k_of_n_counts_the_runs_at_the_threshold_and_a_missing_run_as_told():
    runs = [TrainingRun(seed=1, eval=-13.0), TrainingRun(seed=2, eval=-15.0), TrainingRun(seed=3, problem="crashed")]
    outcome = k_of_n_outcome(runs, K_OF_N, metric="m", hint="a hint", missing=-100.0)
    assert outcome.fraction == 1.0
    assert outcome.details["runs_passing"] == 2
    assert outcome.details["eval_returns"] == [-13.0, -15.0, -100.0]
    assert outcome.feedback.startswith("2 of 3 runs learned a greedy policy with a return of at least -17")
    assert "(a run that did not finish counts as -100)" in outcome.feedback
    assert "run 3: crashed" in outcome.feedback


def test_k_of_n_gives_the_hint_when_too_few_runs_pass():
    runs = [TrainingRun(seed=1, eval=-13.0), TrainingRun(seed=2, eval=-30.0), TrainingRun(seed=3, eval=-40.0)]
    outcome = k_of_n_outcome(runs, K_OF_N, metric="m", hint="a hint")
    assert outcome.fraction < 1.0
    assert outcome.feedback.endswith("a hint")


def test_a_calibration_board_never_skips_a_run():
    board = RunBoard(TIERS, total=5, skip_decided=False)
    for value in (500, 500, 500, 500):
        board.record(TrainingRun(seed=0, eval=value))
    assert not board.decided()
    grading = RunBoard(TIERS, total=5)
    for value in (500, 500, 500, 500):
        grading.record(TrainingRun(seed=0, eval=value))
    assert grading.decided()


def test_a_k_of_n_rule_never_decides_early():
    board = RunBoard(K_OF_N, total=3)
    for value in (-13.0, -13.0):
        board.record(TrainingRun(seed=0, eval=value))
    assert not board.decided()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_trusted_network_s_episodes_played_side_by_side_score_as_one_by_one(seed):
    from grader import evaluation

    cfg = LearningCurveSpec(env="CartPole-v1", seeds=(1,), run_timeout_s=10, eval_episodes=5, max_episode_steps=200,
                            tiers=({"min_iqm": 150.0, "credit": 1.0},))
    mlp = kit.MLP((4, 64, 64, 2))
    net = mlp.network([a * 4 for a in mlp.fresh(np.random.default_rng(seed))])
    one_by_one = evaluation.play(cfg, 11 + seed, lambda obs: kit.ARGMAX(net(obs)))
    assert evaluation.play_together(cfg, 11 + seed, lambda batch: net(batch).argmax(axis=1)) == one_by_one
