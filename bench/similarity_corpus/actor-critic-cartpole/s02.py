"""Actor-critic on CartPole."""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn


class ActorCritic(nn.Module):

    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(n_obs, hidden), nn.Tanh(), nn.Linear(hidden, n_actions))
        self.critic = nn.Sequential(nn.Linear(n_obs, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, states):
        states = torch.as_tensor(states, dtype=torch.float32)
        p = torch.softmax(self.actor(states), dim=-1)
        v = self.critic(states).squeeze(-1)
        return p, v


def select_action(model, state):
    x = torch.as_tensor(state, dtype=torch.float32)
    d = torch.distributions.Categorical(logits=model.actor(x))
    a = d.sample()
    v = model.critic(x).squeeze(-1)
    return int(a), d.log_prob(a), v


def td_targets(rewards, next_values, terminated, gamma):
    with torch.no_grad():
        y = rewards + gamma * (1.0 - terminated) * next_values
    return y


def actor_critic_loss(log_probs, values, targets):
    adv = targets - values
    pg = -(log_probs * adv.detach()).sum()
    vf = 0.5 * (adv ** 2).sum()
    return pg + vf


def train(env, episodes, gamma=0.99, lr=1e-3, seed=0):
    torch.manual_seed(seed)
    model = ActorCritic()
    # critic 20x faster than the actor
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
    print("batch of 3:", tuple(probs.shape), tuple(values.shape))
    probs, value = model(torch.zeros(4))
    print("one state:", tuple(probs.shape), tuple(value.shape))
    print("select_action:", select_action(model, np.zeros(4, dtype=np.float32)))
    print("td_targets:", td_targets(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 3.0]),
                                    torch.tensor([0.0, 1.0]), 0.9))
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
