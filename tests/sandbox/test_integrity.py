"""Learning-curve points come from learning: a hand-written controller earns none, nor does a policy swapped in
after a training loop that did not learn, and the hidden seeds stay hidden. (The attack suite of
test_learning_attacks.py tries harder.)"""
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
for _ in range(60):
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
    assert "no optimiser step was taken while your script trained" in check.feedback


@pytest.mark.bwrap
def test_a_controller_put_in_place_after_a_loop_that_did_not_train_earns_nothing(bwrap_backend):
    check = learning_curve("dqn-cartpole", DQN_CONTROLLER_AT_THE_END, bwrap_backend)
    assert check.score == 0, check.feedback
    assert "no optimiser step was taken while your script trained" in check.feedback


@pytest.mark.bwrap
def test_a_policy_class_that_is_a_controller_earns_no_points(bwrap_backend):
    check = learning_curve("reinforce-cartpole", REINFORCE_CONTROLLER, bwrap_backend)
    assert check.score == 0, check.feedback
    assert "and so did copies of it with their parameters initialised afresh (or it has none" in check.feedback


# A controller that needs an argument: copies of it are made from the object, not by calling its class.
DQN_CONTROLLER_WITH_AN_ARGUMENT = DQN_CONTROLLER_FROM_THE_START.replace(
    "class Controller(nn.Module):", "class Controller(nn.Module):\n    def __init__(self, gain):\n"
    "        super().__init__()\n        self.gain = gain\n").replace("q = Controller()", "q = Controller(0.5)")

# A script that never plays an episode: the "training" is a controller.
DQN_NO_EPISODES = DQN_CONTROLLER_FROM_THE_START.split("for _ in range(5):")[0]

# A network that always pushes left while it trains (its episodes fall at once) and balances by hand once
# it is put in eval() mode, as the grader's evaluations do.
DQN_DIFFERENT_WHEN_EVALUATED = """
import gymnasium as gym
import torch
import torch.nn as nn

STEPS = 0


class QNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 2)
        with torch.no_grad():
            self.net.bias.copy_(torch.tensor([5.0, 0.0]))

    def forward(self, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        if not self.training and STEPS > 0:
            push = x[..., 2] + 0.5 * x[..., 3]
            return torch.stack([-push, push], dim=-1)
        return self.net(x)


env = gym.make("CartPole-v1")
q = QNetwork()
for _ in range(60):
    s, _ = env.reset()
    done = False
    while not done:
        with torch.no_grad():
            s, r, terminated, truncated, _ = env.step(int(torch.argmax(q(s))))
        STEPS += 1
        done = terminated or truncated
"""

# REINFORCE: a Policy with parameters that never change, random until train() has reset once, then a controller.
REINFORCE_SWITCHED_ON_AFTER_THE_FIRST_RESET = REINFORCE_CONTROLLER.replace(
    "class Policy(nn.Module):\n    def forward(self, x):\n        x = torch.as_tensor(x, dtype=torch.float32)\n",
    "STARTED = False\n\n\nclass Policy(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.net = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
    "        x = torch.as_tensor(x, dtype=torch.float32)\n        if not STARTED:\n"
    "            return torch.softmax(self.net(x), dim=-1)\n").replace(
    "        state, _ = env.reset()\n",
    "        state, _ = env.reset()\n        global STARTED\n        STARTED = True\n")


@pytest.mark.bwrap
@pytest.mark.parametrize("slug, source, words", [
    ("dqn-cartpole", DQN_CONTROLLER_WITH_AN_ARGUMENT, "no optimiser step was taken while your script trained"),
    ("dqn-cartpole", DQN_NO_EPISODES, "no optimiser step was taken while your script trained"),
    ("dqn-cartpole", DQN_DIFFERENT_WHEN_EVALUATED, "no optimiser step was taken while your script trained"),
    ("reinforce-cartpole", REINFORCE_SWITCHED_ON_AFTER_THE_FIRST_RESET, "were trained by an optimiser step"),
], ids=["controller-with-an-argument", "no-episodes", "different-when-evaluated", "switched-on-after-a-reset"])
def test_policies_that_did_not_learn_earn_nothing(bwrap_backend, slug, source, words):
    check = learning_curve(slug, source, bwrap_backend)
    assert check.score == 0, check.feedback
    assert words in check.feedback, check.feedback


def test_the_action_space_seed_does_not_reveal_the_hidden_seed():
    host = EnvHost.for_episodes("CartPole-v1", 811, episodes=1, max_episode_steps=10)
    try:
        seen = host.arg()["$env"]["space_seed"]
    finally:
        host.close()
    assert seen == derived_seed(811, "action-space")
    assert seen % 811 != 0
    assert seen != 811
    # Neighbouring seeds give unrelated space seeds: no arithmetic relation to invert.
    assert len({derived_seed(s, "action-space") - derived_seed(s - 1, "action-space") for s in range(2, 50)}) > 40
