"""Correct, in the style of OpenAI Spinning Up's simplest policy gradient (spinup/examples/pytorch/pg_math,
2_rtg_pg.py: "reward-to-go").

What Spinning Up does and this file keeps: an `mlp(sizes, activation=nn.Tanh)` helper and a `logits_net` of
one hidden layer of 32, a `get_policy(obs)` that builds a `Categorical`, the reward-to-go computed in numpy
with `np.zeros_like`, a batch of whole episodes per update (observations and actions kept, log-probabilities
recomputed for the batch at update time), the loss `-(logp * weights).mean()` and Adam at 1e-2.
Adapted to the assignment's contract only: forward returns the probabilities (softmax over dim=-1) and
get_policy builds the distribution from them, the reward-to-go is discounted by gamma, select_action and
train() have the contract's signatures, and a batch is a few episodes (the grader's budget is 400 episodes,
not Spinning Up's 50 batches of 5000 steps).
"""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions.categorical import Categorical
from torch.optim import Adam


def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    # Build a feedforward neural network.
    layers = []
    for j in range(len(sizes) - 1):
        act = activation if j < len(sizes) - 2 else output_activation
        layers += [nn.Linear(sizes[j], sizes[j + 1]), act()]
    return nn.Sequential(*layers)


class Policy(nn.Module):
    def __init__(self, obs_dim=4, n_acts=2, hidden_sizes=(32,)):
        super().__init__()
        self.logits_net = mlp(sizes=[obs_dim] + list(hidden_sizes) + [n_acts])

    def forward(self, obs):
        return torch.softmax(self.logits_net(obs), dim=-1)


def get_policy(policy, obs):
    return Categorical(probs=policy(obs))


def select_action(policy, state):
    pi = get_policy(policy, torch.as_tensor(state, dtype=torch.float32))
    act = pi.sample()
    return act.item(), pi.log_prob(act)


def discounted_returns(rewards, gamma):
    n = len(rewards)
    rtgs = np.zeros_like(rewards)
    for i in reversed(range(n)):
        rtgs[i] = rewards[i] + gamma * (rtgs[i + 1] if i + 1 < n else 0)
    return rtgs


def reinforce_loss(log_probs, returns):
    return -(log_probs * returns).mean()


def train(env, episodes, gamma=0.99, lr=1e-2, seed=0, batch_episodes=2):
    torch.manual_seed(seed)
    policy = Policy()
    optimizer = Adam(policy.parameters(), lr=lr)
    obs, _ = env.reset(seed=seed)
    for epoch in range(episodes // batch_episodes):
        batch_obs, batch_acts, batch_weights, batch_rets = [], [], [], []
        ep_rews = []
        while True:
            batch_obs.append(obs.copy())
            act, _ = select_action(policy, obs)
            obs, rew, terminated, truncated, _ = env.step(act)
            batch_acts.append(act)
            ep_rews.append(rew)
            if terminated or truncated:
                batch_rets.append(sum(ep_rews))
                # the weight for each logprob(a_t|s_t) is the reward-to-go from t
                batch_weights += list(discounted_returns(ep_rews, gamma))
                ep_rews = []
                if len(batch_rets) == batch_episodes:
                    break
                obs, _ = env.reset()
        optimizer.zero_grad()
        logp = get_policy(policy, torch.as_tensor(np.array(batch_obs), dtype=torch.float32)).log_prob(
            torch.as_tensor(batch_acts, dtype=torch.int32))
        batch_loss = reinforce_loss(logp, torch.as_tensor(np.array(batch_weights), dtype=torch.float32))
        batch_loss.backward()
        optimizer.step()
        if epoch % 25 == 0:
            print("epoch: %3d \t loss: %.3f \t return: %.3f" % (epoch, batch_loss, np.mean(batch_rets)))
        if epoch + 1 < episodes // batch_episodes:
            obs, _ = env.reset()
    return policy


if __name__ == "__main__":
    train(gym.make("CartPole-v1"), 400)
