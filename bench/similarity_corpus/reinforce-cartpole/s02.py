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
import torch.nn.functional as F
from torch.distributions import Categorical


class Policy(nn.Module):
    """A small network from a state to the probability of each action.

    The grader builds it as Policy(), with no arguments, as train() does: keep a default for every argument.
    """

    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_obs, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def forward(self, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        # softmax over the actions (last dim) so it works for a single state and for batches
        return F.softmax(self.net(x), dim=-1)


def select_action(policy, state):
    m = Categorical(policy(torch.from_numpy(state).float()))
    a = m.sample()
    return int(a), m.log_prob(a)


def discounted_returns(rewards, gamma):
    # G_t = r_t + gamma * G_{t+1}, starting from the end
    out = []
    running = 0
    for r in rewards[::-1]:
        running = r + gamma * running
        out.insert(0, running)
    return torch.tensor(out)


def reinforce_loss(log_probs, returns):
    # normalising the returns reduces the variance (does not change the direction of the gradient)
    eps = np.finfo(np.float32).eps.item()
    if len(returns) > 1:
        returns = (returns - returns.mean()) / (returns.std() + eps)
    return torch.mean(-log_probs * returns)


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
