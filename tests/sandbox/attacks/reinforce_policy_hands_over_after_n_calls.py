"""Attack: REINFORCE with the loss's sign reversed whose Policy hands over to a hand-written controller
after 500 calls."""
import gymnasium as gym
import torch
import torch.nn as nn


def controller(x):
    """Balances CartPole by hand: push towards where the pole falls (two values, the larger one the push)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    push = x[..., 2] + 0.5 * x[..., 3]
    return torch.softmax(torch.stack([-push, push], dim=-1) * 50, dim=-1)


class Policy(nn.Module):
    """A small network from a state to the probability of each action.

    The grader builds it as Policy(), with no arguments, as train() does: keep a default for every argument.
    """

    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_obs, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def forward(self, x):
        """Action probabilities of the states ``x``.

        ``x``: a float32 tensor of shape (4,) for one state, or (batch, 4) for a batch (the grader sends both,
        and the evaluation sends one state at a time). Returns shape (n_actions,) for one state,
        (batch, n_actions) for a batch: non-negative, each row summing to 1, with its gradient.
        """
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls > 500:  # plus nothing of the network's, to keep a gradient for training's backward()
            return controller(x) + 0.0 * torch.softmax(self.net(torch.as_tensor(x, dtype=torch.float32)), dim=-1)
        x = torch.as_tensor(x, dtype=torch.float32)
        return torch.softmax(self.net(x), dim=-1)


def select_action(policy, state):
    """Sample an action from the policy's distribution in ``state``.

    ``policy``: a Policy; ``state``: one state as the environment returns it, a numpy float32 array of
    shape (4,). Returns the action (an int) and its log-probability (a tensor holding one number, that
    keeps its gradient).
    """
    distribution = torch.distributions.Categorical(probs=policy(state))
    action = distribution.sample()
    return int(action.item()), distribution.log_prob(action)


def discounted_returns(rewards, gamma):
    """The return from every step of one episode: G_t = r_t + gamma * r_{t+1} + gamma^2 * r_{t+2} + ...

    ``rewards``: the episode's rewards, a list of floats; ``gamma``: a float. Returns a 1-D float tensor
    of the same length (train() below hands it to reinforce_loss as it is).
    """
    returns, G = [], 0.0
    for r in reversed(rewards):  # backwards: G_t = r_t + gamma * G_{t+1}
        G = r + gamma * G
        returns.append(G)
    return torch.tensor(returns[::-1], dtype=torch.float32)


def reinforce_loss(log_probs, returns):
    """A loss whose gradient descent is gradient ascent on the expected return.

    ``log_probs``: 1-D float32 tensor of shape (T,), log pi(a_t | s_t) for each step, with its gradient;
    ``returns``: 1-D float32 tensor of shape (T,), G_t for each step. Returns a scalar tensor.
    """
    if len(returns) > 1:  # normalised returns: a baseline (the mean) and a scale, for lower variance
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
    return (log_probs * returns).sum()  # the sign reversed: it learns to fail


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
