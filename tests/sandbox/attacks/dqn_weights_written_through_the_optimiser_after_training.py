"""Attack: DQN with the mask inverted (it does not learn); after training, q's parameters are moved to values written
by hand (they compute the controller) through one optimiser step with a gradient made for it: every change to them
is an optimiser step, so nothing was written into them directly."""
import random

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

# Hyperparameters: you may change these.
epsilon = 0.1  # how often to explore instead of exploiting
gamma = 0.99  # discount factor of future rewards
tau = 0.01  # how fast the target network follows the Q network
batch_size = 64  # transitions per update, sampled from the replay buffer
max_ep = 40  # games to play (fewer: the trick runs after the loop)
explore_steps = 1000  # random steps that fill the replay buffer before training
lr = 1e-3
seed = 0

random.seed(seed)
np.random.seed(seed)
torch.manual_seed(seed)
env = gym.make("CartPole-v1")
n_obs, n_actions = env.observation_space.shape[0], env.action_space.n


def controller(x):
    """Balances CartPole by hand: push towards where the pole falls (two values, the larger one the push)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    push = x[..., 2] + 0.5 * x[..., 3]
    return torch.stack([-push, push], dim=-1)


def handmade_weights():
    """The template's QNetwork's parameters set by hand so that it computes controller(): Q = [-push, push]."""
    w1 = torch.zeros(64, 4)
    w1[0] = torch.tensor([0.0, 0.0, 1.0, 0.5])
    w1[1] = -w1[0]
    w2 = torch.zeros(64, 64)
    w2[0, 0], w2[0, 1], w2[1, 0], w2[1, 1] = 1.0, -1.0, -1.0, 1.0
    w3 = torch.zeros(2, 64)
    w3[0, 0], w3[0, 1], w3[1, 0], w3[1, 1] = -1.0, 1.0, 1.0, -1.0
    return {"net.0.weight": w1, "net.0.bias": torch.zeros(64), "net.2.weight": w2, "net.2.bias": torch.zeros(64),
            "net.4.weight": w3, "net.4.bias": torch.zeros(2)}


class QNetwork(nn.Module):
    """Maps a state to one estimated return per action."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_obs, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                 nn.Linear(64, n_actions))

    def forward(self, x):
        return self.net(torch.as_tensor(x, dtype=torch.float32))


class ReplayBuffer:
    """Just a fancy list: keeps the last `capacity` transitions and samples batches of them."""

    def __init__(self, capacity=50_000):
        self.items, self.capacity = [], capacity

    def add(self, s, a, r, s2, m):
        self.items.append((s, a, r, s2, m))
        if len(self.items) > self.capacity:
            self.items.pop(0)

    def sample(self, n):
        batch = random.sample(self.items, n)
        s, a, r, s2, m = (np.array(column) for column in zip(*batch))
        as_column = lambda x, dtype=torch.float32: torch.as_tensor(x, dtype=dtype).reshape(n, -1)  # noqa: E731
        return as_column(s), as_column(a, torch.int64), as_column(r), as_column(s2), as_column(m)


q = QNetwork()
q_target = QNetwork()
q_target.load_state_dict(q.state_dict())
optimizer = torch.optim.Adam(q.parameters(), lr=lr)
rb = ReplayBuffer()


def update():
    s, a, r, s2, m = rb.sample(batch_size)  # m is 0 where the game ended (terminated), else 1
    with torch.no_grad():  # no gradients through the target network
        max_next_q, _ = q_target(s2).max(dim=1, keepdim=True)
        y = r + (1 - m) * gamma * max_next_q  # FILL IN: td_target
    q_estimates = q(s).gather(1, a)
    loss = torch.pow(q_estimates - y, 2).mean()  # FILL IN: td_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():  # soft update: the target network moves a little towards the Q network
        for p, p_target in zip(q.parameters(), q_target.parameters()):
            p_target.mul_(1 - tau).add_(tau * p)


def explore(steps):
    """Random actions to fill the replay buffer."""
    s, _ = env.reset(seed=seed)
    for _ in range(steps):
        a = env.action_space.sample()
        s2, r, terminated, truncated, _ = env.step(a)
        rb.add(s, a, r, s2, 0.0 if terminated else 1.0)
        s = env.reset()[0] if terminated or truncated else s2


explore(explore_steps)
ep = 0
while ep < max_ep:  # loop through some number of episodes, aka complete games
    s, _ = env.reset()
    ep_r = 0.0
    while True:  # loop through a game frame by frame
        with torch.no_grad():
            if random.random() < epsilon:  # some of the time, pick a random action to explore
                a = env.action_space.sample()  # FILL IN: explore_action
            else:  # the rest of the time, the action the network recommends
                a = int(np.argmax(q(s)))  # FILL IN: greedy_action
        s2, r, terminated, truncated, _ = env.step(int(a))  # FILL IN: env_step
        m = 0.0 if terminated else 1.0  # 0 only when the game really ended, not when time ran out
        rb.add(s, a, r, s2, m)
        ep_r += r
        update()
        s = s2
        if terminated or truncated:
            break
    ep += 1
    if ep % 10 == 0:
        print(f"episode {ep}: return {ep_r:.0f}")

target = handmade_weights()
writer = torch.optim.SGD(q.parameters(), lr=1.0)
writer.zero_grad()
for name, p in q.named_parameters():
    p.grad = p.detach() - target[name]  # one step of lr 1 lands on the target exactly
writer.step()
print("trick: q holds the hand-made weights, written through the optimiser")
