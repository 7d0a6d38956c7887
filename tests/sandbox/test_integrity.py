"""Learning-curve points come from learning: a hand-written controller earns none, a policy swapped in after a
training loop that did not learn is flagged for the instructor, and the hidden seeds stay hidden."""
import pytest

from grader import assignments, pipeline
from grader.envhost import EnvHost, derived_seed

CONTROLLER = '''
class Controller(nn.Module):
    """Balances CartPole by hand: push towards where the pole falls."""

    def forward(self, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        push = x[..., 2] + 0.5 * x[..., 3]
        return torch.stack([-push, push], dim=-1)
'''

# DQN: the "Q network" is a controller from the start; the loop plays a few episodes and learns nothing.
DQN_CONTROLLER_FROM_THE_START = '''
import gymnasium as gym
import torch
import torch.nn as nn
''' + CONTROLLER + '''
env = gym.make("CartPole-v1")
q = Controller()
for _ in range(5):
    s, _ = env.reset()
    done = False
    while not done:
        s, r, terminated, truncated, _ = env.step(int(torch.argmax(q(s))))
        done = terminated or truncated
'''

# DQN: a network that never learns plays the training episodes; a controller is put in its place at the end.
DQN_CONTROLLER_AT_THE_END = '''
import gymnasium as gym
import torch
import torch.nn as nn
''' + CONTROLLER + '''
env = gym.make("CartPole-v1")
q = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
with torch.no_grad():
    q[2].bias.copy_(torch.tensor([5.0, 0.0]))  # always pushes left: every episode falls at once
for _ in range(40):
    s, _ = env.reset()
    done = False
    while not done:
        with torch.no_grad():
            s, r, terminated, truncated, _ = env.step(int(torch.argmax(q(torch.as_tensor(s)))))
        done = terminated or truncated
q = Controller()
'''

# REINFORCE: the Policy class is a controller; train() plays its episodes and returns it.
REINFORCE_CONTROLLER = '''
import torch
import torch.nn as nn


class Policy(nn.Module):
    def forward(self, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        push = x[..., 2] + 0.5 * x[..., 3]
        return torch.softmax(torch.stack([-push, push], dim=-1) * 100, dim=-1)


def select_action(policy, state):
    raise NotImplementedError


def discounted_returns(rewards, gamma):
    raise NotImplementedError


def reinforce_loss(log_probs, returns):
    raise NotImplementedError


def train(env, episodes, gamma=0.99, lr=5e-3, seed=0):
    policy = Policy()
    for episode in range(episodes):
        state, _ = env.reset()
        done = False
        while not done:
            with torch.no_grad():
                action = int(torch.argmax(policy(state)))
            state, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    return policy
'''


def learning_curve(slug, source, backend):
    folder = assignments.get(slug)
    config = pipeline.GradingConfig(backend=backend, parallel_runs=2)
    report = pipeline.grade(folder, "attack.py", source.encode(), config, only=("learning_curve",))
    return report.checks[0]


@pytest.fixture(scope="module")
def bwrap_backend():
    from tests.conftest import sandbox_backend

    return sandbox_backend("bwrap")


@pytest.mark.bwrap
def test_a_controller_from_the_start_earns_no_learning_curve_points(bwrap_backend):
    check = learning_curve("dqn-cartpole", DQN_CONTROLLER_FROM_THE_START, bwrap_backend)
    assert check.score == 0, check.feedback
    assert "before any training step the policy already scored 500" in check.feedback
    assert len(check.details["flags"]) == 5, check.details


@pytest.mark.bwrap
def test_a_controller_put_in_place_after_training_is_flagged(bwrap_backend):
    check = learning_curve("dqn-cartpole", DQN_CONTROLLER_AT_THE_END, bwrap_backend)
    assert check.details["value"] >= 150  # scored: a flag is for the instructor to judge
    assert "Flagged for your instructor" in check.feedback
    assert all("the last 10 training episodes averaged" in f for f in check.details["flags"]), check.details
    assert len(check.details["flags"]) == 5 - check.details["runs_skipped"]  # every run scored is flagged


@pytest.mark.bwrap
def test_a_policy_class_that_is_a_controller_earns_no_points(bwrap_backend):
    check = learning_curve("reinforce-cartpole", REINFORCE_CONTROLLER, bwrap_backend)
    assert check.score == 0, check.feedback
    assert "and so did 2 other initialisations of it" in check.feedback


def test_the_action_space_seed_does_not_reveal_the_hidden_seed():
    host = EnvHost.for_episodes("CartPole-v1", 811, episodes=1, max_episode_steps=10)
    try:
        seen = host.arg()["$env"]["space_seed"]
    finally:
        host.close()
    assert seen == derived_seed(811, "action-space")
    assert seen % 811 != 0 and seen != 811
    # Neighbouring seeds give unrelated space seeds: no arithmetic relation to invert.
    assert len({derived_seed(s, "action-space") - derived_seed(s - 1, "action-space") for s in range(2, 50)}) > 40
