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


class Policy(nn.Module):
    """A small network from a state to the probability of each action.

    The grader builds it as Policy(), with no arguments, as train() does: keep a default for every argument.
    """

    def __init__(self, n_obs: int = 4, n_actions: int = 2, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_obs, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

    def forward(self, x) -> torch.Tensor:
        """Action probabilities of the states ``x``.

        ``x``: a float32 tensor of shape (4,) for one state, or (batch, 4) for a batch (the grader sends both,
        and the evaluation sends one state at a time). Returns shape (n_actions,) for one state,
        (batch, n_actions) for a batch: non-negative, each row summing to 1, with its gradient.
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        # Step 1: compute the raw action scores (logits) with the network.
        logits = self.net(x)
        # Step 2: log-softmax over the last dimension is numerically stable...
        log_probs = torch.log_softmax(logits, dim=-1)
        # Step 3: ...and exponentiating it gives the probabilities.
        return torch.exp(log_probs)


def select_action(policy: Policy, state: np.ndarray) -> tuple[int, torch.Tensor]:
    """Sample an action from the policy's distribution in ``state``.

    ``policy``: a Policy; ``state``: one state as the environment returns it, a numpy float32 array of
    shape (4,). Returns the action (an int) and its log-probability (a tensor holding one number, that
    keeps its gradient).
    """
    # Convert the numpy state to a tensor.
    state_tensor = torch.tensor(state, dtype=torch.float32)
    # Get the action probabilities from the policy network.
    action_probs = policy(state_tensor)
    # Build a categorical distribution over the actions.
    distribution = torch.distributions.Categorical(probs=action_probs)
    # Sample an action from the distribution.
    sampled_action = distribution.sample()
    # Compute the log-probability of the sampled action (keeps the gradient).
    log_probability = distribution.log_prob(sampled_action)
    return int(sampled_action.item()), log_probability


def discounted_returns(rewards: list[float], gamma: float) -> torch.Tensor:
    """The return from every step of one episode: G_t = r_t + gamma * r_{t+1} + gamma^2 * r_{t+2} + ...

    ``rewards``: the episode's rewards, a list of floats; ``gamma``: a float. Returns a 1-D float tensor
    of the same length (train() below hands it to reinforce_loss as it is).
    """
    # Allocate a tensor for the returns, one per step.
    returns = torch.zeros(len(rewards), dtype=torch.float32)
    # Running discounted sum, accumulated backwards from the end of the episode.
    cumulative = 0.0
    for step in range(len(rewards) - 1, -1, -1):
        cumulative = float(rewards[step]) + gamma * cumulative
        returns[step] = cumulative
    return returns


def reinforce_loss(log_probs: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """A loss whose gradient descent is gradient ascent on the expected return.

    ``log_probs``: 1-D float32 tensor of shape (T,), log pi(a_t | s_t) for each step, with its gradient;
    ``returns``: 1-D float32 tensor of shape (T,), G_t for each step. Returns a scalar tensor.
    """
    # Subtract a baseline (the mean return) to reduce the variance of the gradient estimate.
    baseline = returns.mean()
    advantages = returns - baseline
    # The policy gradient objective is sum_t log pi(a_t|s_t) * A_t; we minimise its negative.
    loss = -torch.mean(log_probs * advantages)
    return loss


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
