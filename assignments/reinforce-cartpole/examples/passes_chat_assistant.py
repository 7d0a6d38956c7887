"""Correct, in the style chat assistants answer "write REINFORCE for CartPole in PyTorch" with.

What such answers do and this file keeps: an `nn.Sequential` that ends in `nn.Softmax(dim=-1)`, the state
turned into a tensor with `torch.FloatTensor`, the action drawn with `torch.multinomial` and its
log-probability picked with `gather`, returns built with `insert(0, G)`, a mean baseline subtracted in the
loss, and the template's train() kept as it was given.
"""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Policy(nn.Module):
    def __init__(self, state_dim=4, action_dim=2, hidden_dim=128):
        super(Policy, self).__init__()
        self.model = nn.Sequential(
            nn.Linear(state_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, action_dim),
            nn.Softmax(dim=-1),
        )

    def forward(self, x):
        return self.model(x)


def select_action(policy, state):
    state = torch.FloatTensor(state)
    probs = policy(state)
    action = torch.multinomial(probs, num_samples=1)
    log_prob = torch.log(probs.gather(-1, action))
    return action.item(), log_prob


def discounted_returns(rewards, gamma):
    returns = []
    G = 0
    for r in reversed(rewards):
        G = r + gamma * G
        returns.insert(0, G)
    return torch.tensor(returns, dtype=torch.float32)


def reinforce_loss(log_probs, returns):
    baseline = returns.mean()
    advantages = returns - baseline
    loss = -torch.sum(log_probs * advantages)
    return loss


def train(env, episodes, gamma=0.99, lr=5e-3, seed=0):
    """Plays ``episodes`` episodes, updating the policy after each; returns the trained policy."""
    torch.manual_seed(seed)
    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=lr)
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
            print(f"Episode {episode + 1}, Total Reward: {sum(rewards):.0f}, Mean: {np.mean(rewards):.2f}")
    return policy


if __name__ == "__main__":
    env = gym.make("CartPole-v1")
    trained = train(env, episodes=600)
