"""Correct, in the style of CleanRL (vwxyzjn/cleanrl, ppo.py's agent; CleanRL has no REINFORCE of its own).

What CleanRL does and this file keeps: every random source seeded at the top with `torch_deterministic`, a
`layer_init` with orthogonal weights (std 0.01 on the output layer) and Tanh layers of 64, the distribution
built as `Categorical(logits=...)`, returns computed backwards into a preallocated tensor, advantages
normalised with 1e-8 and a mean loss, Adam with eps=1e-5.
Adapted to the assignment's contract only: forward returns the probabilities (`log_softmax` of the logits,
exponentiated), so the distribution gets `logits=` their logarithm; the four pieces are separate functions,
train() has the contract's signature and the template's learning rate (CleanRL's 2.5e-4 is PPO's, for many
epochs per batch).
"""
import random

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions.categorical import Categorical

torch_deterministic = True
torch.backends.cudnn.deterministic = torch_deterministic
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Policy(nn.Module):
    def __init__(self, n_obs=4, n_actions=2):
        super().__init__()
        self.actor = nn.Sequential(
            layer_init(nn.Linear(n_obs, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, n_actions), std=0.01),
        )

    def forward(self, x):
        return torch.log_softmax(self.actor(x), dim=-1).exp()


def select_action(policy, state):
    logits = torch.log(policy(torch.Tensor(state).to(device)))
    probs = Categorical(logits=logits)
    action = probs.sample()
    return action.item(), probs.log_prob(action)


def discounted_returns(rewards, gamma):
    num_steps = len(rewards)
    returns = torch.zeros(num_steps).to(device)
    for t in reversed(range(num_steps)):
        nextreturn = returns[t + 1] if t + 1 < num_steps else 0.0
        returns[t] = rewards[t] + gamma * nextreturn
    return returns


def reinforce_loss(log_probs, returns):
    advantages = (returns - returns.mean()) / (returns.std() + 1e-8)
    pg_loss = -(log_probs * advantages).mean()
    return pg_loss


def train(env, episodes, gamma=0.99, lr=5e-3, seed=0):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    agent = Policy().to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=lr, eps=1e-5)
    next_obs, _ = env.reset(seed=seed)
    for episode in range(episodes):
        if episode > 0:
            next_obs, _ = env.reset()
        logprobs, rewards, done = [], [], False
        while not done:
            action, logprob = select_action(agent, next_obs)
            next_obs, reward, terminations, truncations, infos = env.step(action)
            logprobs.append(logprob)
            rewards.append(reward)
            done = terminations or truncations
        loss = reinforce_loss(torch.stack(logprobs), discounted_returns(rewards, gamma))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if episode % 50 == 0:
            print(f"episode={episode}, episodic_return={sum(rewards)}")
    return agent


if __name__ == "__main__":
    train(gym.make("CartPole-v1"), 400)
