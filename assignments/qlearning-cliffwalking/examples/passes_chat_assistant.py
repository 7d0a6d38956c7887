"""Correct, in the style chat assistants answer "implement epsilon-greedy and the Q-learning update" with.

What such answers do and this file keeps: exploration with `rng.random() < epsilon` and a random action from
`rng.integers`, ties between the best actions broken at random (`rng.choice(np.flatnonzero(q == q.max()))`),
the target and the TD error as named intermediate values with `best_next = 0.0 if terminated else ...`, an
in-place `+=`, and the template's train() kept as it was given.
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    """Pick an action for `state`: random with probability epsilon, else greedy (ties broken at random)."""
    n_actions = Q.shape[1]
    if rng.random() < epsilon:
        return int(rng.integers(n_actions))
    q_values = Q[state]
    best_actions = np.flatnonzero(q_values == q_values.max())
    return int(rng.choice(best_actions))


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    """Apply one Q-learning update to Q[s, a] in place and return the new value."""
    best_next = 0.0 if terminated else np.max(Q[s2])
    td_target = r + gamma * best_next
    td_error = td_target - Q[s, a]
    Q[s, a] += alpha * td_error
    return float(Q[s, a])


def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
    """Q-learning for `episodes` episodes; returns the Q table (states x actions)."""
    rng = np.random.default_rng(seed)
    Q = np.zeros((env.observation_space.n, env.action_space.n))
    for _ in range(episodes):
        s, _ = env.reset()
        done = False
        while not done:
            a = epsilon_greedy(Q, s, epsilon, rng)
            s2, r, terminated, truncated, _ = env.step(a)
            q_update(Q, s, a, r, s2, terminated, alpha, gamma)
            s, done = s2, terminated or truncated
    return Q


if __name__ == "__main__":
    env = gym.make("CliffWalking-v1", max_episode_steps=200)
    Q = train(env, episodes=300)
    print("greedy path values:", Q.max(axis=1).reshape(4, 12).round(1))
