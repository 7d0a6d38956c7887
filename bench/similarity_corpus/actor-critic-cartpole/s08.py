"""RL homework: one-step actor-critic on CartPole-v1.

forward / select_action / td_targets / actor_critic_loss filled in below, train() is the given one.
"""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn


def _mlp(sizes, act=nn.Tanh):
    # Linear layers between consecutive sizes, activation between them (not after the last one)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _to_tensor(x):
    return torch.as_tensor(x, dtype=torch.float32)


class ActorCritic(nn.Module):
    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.actor = _mlp([n_obs, hidden, n_actions])
        self.critic = _mlp([n_obs, hidden, 1])

    def forward(self, states):
        states = _to_tensor(states)
        log_p = torch.log_softmax(self.actor(states), dim=-1)
        return log_p.exp(), self.critic(states).squeeze(dim=-1)


def select_action(model, state):
    probs, value = model(_to_tensor(state))
    # inverse-CDF sampling: first action whose cumulative probability exceeds u ~ U(0, 1)
    cdf = torch.cumsum(probs.detach(), dim=0)
    u = torch.rand(1)
    a = int(torch.searchsorted(cdf, u).clamp(max=probs.numel() - 1))
    return a, probs[a].log(), value


def td_targets(rewards, next_values, terminated, gamma):
    future = gamma * next_values.data
    future = torch.where(terminated.bool(), torch.zeros_like(future), future)
    return rewards + future


def actor_critic_loss(log_probs, values, targets):
    T = log_probs.shape[0]
    err = targets - values
    adv = err.detach()
    actor = -torch.dot(log_probs, adv) / T
    critic = 0.5 * torch.dot(err, err) / T
    return actor + critic


def train(env, episodes, gamma=0.99, lr=1e-3, seed=0):
    """Plays ``episodes`` episodes of ``env`` (a gymnasium CartPole-v1), updating the actor and the critic
    after each on its one-step transitions; returns the trained ActorCritic."""
    torch.manual_seed(seed)
    model = ActorCritic()
    # The critic learns twenty times faster than the actor: the actor follows the critic's advantages,
    # which are only worth following once the values are roughly right.
    optimizer = torch.optim.Adam([
        {"params": model.actor.parameters(), "lr": lr},
        {"params": model.critic.parameters(), "lr": 20 * lr},
    ])
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        log_probs, values, rewards, next_states, terminals = [], [], [], [], []
        done = False
        while not done:
            action, log_prob, value = select_action(model, state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            log_probs.append(log_prob.reshape(()))
            values.append(value.reshape(()))
            rewards.append(float(reward))
            next_states.append(next_state)
            # Only a real end (the pole fell, the cart left the track) has no future. A truncated episode
            # (the 500-step limit) stops, but its next state still has a value: bootstrap on it.
            terminals.append(float(terminated))
            state = next_state
            done = terminated or truncated
        _, next_values = model(torch.as_tensor(np.array(next_states), dtype=torch.float32))
        targets = td_targets(torch.tensor(rewards, dtype=torch.float32), next_values,
                             torch.tensor(terminals, dtype=torch.float32), gamma)
        loss = actor_critic_loss(torch.stack(log_probs), torch.stack(values), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (episode + 1) % 50 == 0:
            print(f"episode {episode + 1}: return {sum(rewards):.0f}")
    return model


if __name__ == "__main__":
    model = ActorCritic()
    probs, values = model(torch.zeros(3, 4))
    print("batch of 3:", tuple(probs.shape), tuple(values.shape))  # (3, 2) (3,)
    probs, value = model(torch.zeros(4))
    print("one state:", tuple(probs.shape), tuple(value.shape))  # (2,) ()
    print("select_action:", select_action(model, np.zeros(4, dtype=np.float32)))
    print("td_targets:", td_targets(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 3.0]),
                                    torch.tensor([0.0, 1.0]), 0.9))  # tensor([2.8, 1.0])
    # means, half squared error: 0.5 * 1 + ... = 0.153 + 0.5
    print("actor_critic_loss:", actor_critic_loss(torch.log(torch.tensor([0.5, 0.25])),
                                                  torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0])))

    env = gym.make("CartPole-v1")
    model = train(env, episodes=500)
    model.eval()
    state, _ = env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            probs, _ = model(state)
        state, reward, terminated, truncated, _ = env.step(int(torch.argmax(probs)))
        total += reward
        done = terminated or truncated
    print(f"greedy return after training: {total:.0f}")
