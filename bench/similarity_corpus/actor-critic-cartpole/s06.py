"""Actor-critic on CartPole: the policy gradient with a learned critic.

Four pieces are left for you, each marked TODO (README.md explains them): the model's forward pass,
select_action, td_targets and actor_critic_loss. train() is written for you and uses them; run this file
to watch the actor and the critic learn (a minute or so on a laptop).

The grader checks each piece on its own, then trains your model with train() on CartPole-v1 and plays
the actor's most likely actions on episodes it has never seen.
"""
from collections import OrderedDict

import gymnasium as gym
import numpy as np
import torch
import torch.distributions as D
import torch.nn as nn

EPS = 1e-8


class ActorCritic(nn.Module):
    """Actor and critic kept as two separate networks (same shape of hidden layer).

    actor:  state -> 2 logits -> softmax
    critic: state -> V(s)
    """

    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.actor = nn.Sequential(OrderedDict([
            ("fc", nn.Linear(n_obs, hidden)),
            ("act", nn.Tanh()),
            ("logits", nn.Linear(hidden, n_actions)),
        ]))
        self.critic = nn.Sequential(OrderedDict([
            ("fc", nn.Linear(n_obs, hidden)),
            ("act", nn.Tanh()),
            ("value", nn.Linear(hidden, 1)),
        ]))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, states):
        """states (4,) or (B, 4) -> probs (2,) / (B, 2), values () / (B,)"""
        states = torch.as_tensor(states, dtype=torch.float32)
        leading = states.shape[:-1]  # () for one state, (B,) for a batch
        probs = self.softmax(self.actor(states))
        values = self.critic(states).reshape(leading)
        return probs, values


def select_action(model, state):
    """Samples a ~ pi(.|s). Returns (int action, log pi(a|s), V(s))."""
    obs = torch.tensor(state, dtype=torch.float32)
    probs, v = model(obs)
    pi = D.Categorical(probs=probs)
    a = pi.sample()
    return int(a.item()), pi.log_prob(a), v


def td_targets(rewards, next_values, terminated, gamma):
    """y = r + gamma * V(s') * (1 - done), as a constant (no grad through V(s'))."""
    not_done = 1.0 - terminated
    return torch.addcmul(rewards, not_done, next_values.detach(), value=gamma)


def actor_critic_loss(log_probs, values, targets):
    """-mean(log pi * A) + mean((y - V)^2), with A normalised and detached."""
    td_error = targets - values
    adv = td_error.detach()
    # normalising the advantages keeps the actor's step size similar between short and long episodes
    adv = (adv - adv.mean()) / (adv.std() + EPS)
    actor_term = -(log_probs * adv).mean()
    critic_term = td_error.pow(2).mean()
    return actor_term + critic_term


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
        if (episode + 1) % 25 == 0:
            print(f"episode {episode + 1}: return {sum(rewards):.0f}  loss {loss.item():.3f}")
    return model


if __name__ == "__main__":
    # quick shape tests
    model = ActorCritic()
    probs, values = model(torch.zeros(3, 4))
    print("batch of 3:", tuple(probs.shape), tuple(values.shape))  # (3, 2) (3,)
    probs, value = model(torch.zeros(4))
    print("one state:", tuple(probs.shape), tuple(value.shape))  # (2,) ()
    print("select_action:", select_action(model, np.zeros(4, dtype=np.float32)))
    print("td_targets:", td_targets(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 3.0]),
                                    torch.tensor([0.0, 1.0]), 0.9))  # tensor([2.8, 1.0])
    print("actor_critic_loss:", actor_critic_loss(torch.log(torch.tensor([0.5, 0.25])),
                                                  torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0])))

    env = gym.make("CartPole-v1")
    model = train(env, episodes=500)
    model.eval()
    for s in (1, 2, 3):
        state, _ = env.reset(seed=s)
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                probs, _ = model(state)
            state, reward, terminated, truncated, _ = env.step(int(torch.argmax(probs)))
            total += reward
            done = terminated or truncated
        print(f"greedy return after training (seed {s}): {total:.0f}")
