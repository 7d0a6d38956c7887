"""REINFORCE on CartPole: learning a policy directly, with the policy gradient.

Four pieces are left for you, each marked TODO (README.md explains them): the policy's forward pass,
select_action, discounted_returns and reinforce_loss. train() is written for you and uses them; run
this file to watch the policy learn (a few minutes on a laptop).
"""

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical


class Policy(nn.Module):
    """A small network from a state to the probability of each action."""

    def __init__(self, n_obs: int = 4, n_actions: int = 2, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_obs, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def log_probs(self, x) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        return F.log_softmax(self.net(x), dim=-1)

    def forward(self, x) -> torch.Tensor:
        # exp of the log-softmax is the softmax
        return self.log_probs(x).exp()


def select_action(policy: Policy, state: np.ndarray) -> tuple[int, torch.Tensor]:
    probs = policy(state)
    # Categorical takes logits too; log(probs) are valid logits of the same distribution
    dist = Categorical(logits=torch.log(probs))
    action = dist.sample()
    return int(action.item()), dist.log_prob(action)


def discounted_returns(rewards: list[float], gamma: float) -> torch.Tensor:
    """G_t = sum_k gamma^(k-t) r_k, vectorised.

    Multiply every reward by gamma^k, take the cumulative sum from the end, then divide by gamma^t
    to re-base the discount at step t.
    """
    r = np.asarray(rewards, dtype=np.float64)
    powers = gamma ** np.arange(len(r))
    tail_sums = np.cumsum((r * powers)[::-1])[::-1]
    G = tail_sums / powers
    return torch.tensor(G, dtype=torch.float32)


def reinforce_loss(log_probs: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    return torch.sum(-log_probs * returns)


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
    state, _ = env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            action = int(torch.argmax(policy(state)))
        state, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated or truncated
    print(f"greedy return after training: {total:.0f}")
