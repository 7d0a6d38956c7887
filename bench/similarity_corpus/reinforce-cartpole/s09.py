"""REINFORCE on CartPole: learning a policy directly, with the policy gradient.

Four pieces are left for you, each marked TODO (README.md explains them): the policy's forward pass,
select_action, discounted_returns and reinforce_loss. train() is written for you and uses them; run
this file to watch the policy learn (a few minutes on a laptop).

The grader checks each piece on its own, then trains your policy with train() on CartPole-v1 and plays
its most likely actions on episodes it has never seen.
"""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions.categorical import Categorical


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Policy(nn.Module):
    """A small network from a state to the probability of each action.

    The grader builds it as Policy(), with no arguments, as train() does: keep a default for every argument.
    """

    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.net = nn.Sequential(
            layer_init(nn.Linear(n_obs, hidden)),
            nn.ReLU(),
            layer_init(nn.Linear(hidden, n_actions), std=0.01),
        )

    def forward(self, x):
        """Action probabilities of the states ``x``, shape (..., n_actions)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        return nn.functional.softmax(self.net(x), dim=-1)

    def get_action(self, x, action=None):
        probs = Categorical(probs=self(x))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy()


def select_action(policy, state):
    """Sample an action from the policy's distribution in ``state``; (int, log-prob)."""
    action, logprob, _ = policy.get_action(torch.Tensor(state))
    return action.item(), logprob


def discounted_returns(rewards, gamma):
    """Reward-to-go: G_t = sum_{k=t}^{T-1} gamma^(k-t) r_k."""
    rew = np.array(rewards, dtype=np.float64)
    n = len(rew)
    rtg = np.empty(n)
    for t in range(n):
        rtg[t] = np.sum(rew[t:] * gamma ** np.arange(n - t))
    return torch.as_tensor(rtg, dtype=torch.float32)


def reinforce_loss(log_probs, returns):
    """Policy-gradient loss with standardised returns as the advantage."""
    b_returns = returns.detach()
    if b_returns.numel() > 1:
        advantages = (b_returns - b_returns.mean()) / (b_returns.std() + 1e-8)
    else:
        advantages = b_returns
    pg_loss = (-advantages * log_probs).mean()
    return pg_loss


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
