"""REINFORCE on CartPole: learning a policy directly, with the policy gradient.

Four pieces are left for you, each marked TODO (README.md explains them): the policy's forward pass,
select_action, discounted_returns and reinforce_loss. train() is written for you and uses them; run
this file to watch the policy learn (a few minutes on a laptop).

The grader checks each piece on its own, then trains your policy with train() on CartPole-v1 and plays
its most likely actions on episodes it has never seen.
"""
from itertools import accumulate

import gymnasium as gym
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

EPS = 1e-8


class Policy(nn.Module):
    """A small network from a state to the probability of each action.

    The grader builds it as Policy(), with no arguments, as train() does: keep a default for every argument.
    Like the PyTorch example, with a bit of dropout in the hidden layer.
    """

    def __init__(self, n_obs=4, n_actions=2, hidden=128, p_drop=0.2):
        super().__init__()
        self.fc1 = nn.Linear(n_obs, hidden)
        self.drop = nn.Dropout(p=p_drop)
        self.fc2 = nn.Linear(hidden, n_actions)

    def forward(self, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        h = self.drop(F.relu(self.fc1(x)))
        return F.softmax(self.fc2(h), dim=-1)

    def act(self, state):
        """Sample an action in `state`; returns (action, log_prob)."""
        c = Categorical(self.forward(state))
        action = c.sample()
        return action.item(), c.log_prob(action)


def select_action(policy, state):
    """Sample an action from the policy's distribution in ``state``."""
    return policy.act(state)


def discounted_returns(rewards, gamma):
    """The return from every step of one episode: G_t = r_t + gamma * G_{t+1}."""
    # accumulate over the reversed rewards gives G_{T-1}, G_{T-2}, ..., G_0
    backwards = list(accumulate(reversed(rewards), lambda g, r: r + gamma * g))
    return torch.tensor(backwards[::-1], dtype=torch.float32)


def reinforce_loss(log_probs, returns):
    """-sum_t log pi(a_t|s_t) * G_t, with the returns standardised first."""
    if returns.numel() > 1:
        returns = (returns - returns.mean()) / (returns.std() + EPS)
    policy_loss = []
    for lp, g in zip(log_probs, returns, strict=False):
        policy_loss.append(-lp * g)
    return torch.stack(policy_loss).sum()


def train(env, episodes, gamma=0.99, lr=5e-3, seed=0):
    """Plays ``episodes`` episodes of ``env`` (a gymnasium CartPole-v1), updating the policy after each;
    returns the trained Policy."""
    torch.manual_seed(seed)
    policy = Policy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        log_probs, rewards, done = [], [], False
        while not done:
            action, log_prob = select_action(policy, state)
            state, reward, terminated, truncated, _ = env.step(action)
            log_probs.append(log_prob.reshape(()))
            rewards.append(reward)
            done = terminated or truncated
        loss = reinforce_loss(torch.stack(log_probs), discounted_returns(rewards, gamma))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (episode + 1) % 50 == 0:
            print(f"episode {episode + 1}: return {sum(rewards):.0f}")
    return policy


if __name__ == "__main__":
    env = gym.make("CartPole-v1")
    policy = train(env, episodes=600)
    policy.eval()
    state, _ = env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            action = int(torch.argmax(policy(state)))
        state, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated or truncated
    print(f"greedy return after training: {total:.0f}")
