"""Correct, written the way an introductory Python course writes it: plain loops and built-ins, few numpy calls.

What this style does: the best action found with `max(range(n), key=...)`, the row's maximum with the built-in
`max`, chained indexing `Q[s][a]`, an `if`/`else` for the terminal case, and the template's train() kept.
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    n_actions = len(Q[state])
    if rng.random() < epsilon:
        return int(rng.integers(0, n_actions))
    return max(range(n_actions), key=lambda action: Q[state][action])


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    if terminated:
        target = r
    else:
        target = r + gamma * max(Q[s2])
    Q[s][a] = (1 - alpha) * Q[s][a] + alpha * target
    return Q[s][a]


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
    print("greedy return of the start state's best action:", max(Q[36]))
