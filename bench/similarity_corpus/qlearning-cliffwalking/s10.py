"""Tabular Q-learning on CliffWalking (warm-up exercise).

Run this file to train an agent and print the greedy path's return (-13 is the best).
"""
import gymnasium as gym
import numpy as np


def lerp(x, y, t):
    """Linear interpolation: x when t = 0, y when t = 1."""
    return x + t * (y - x)


def epsilon_greedy(Q, state, epsilon, rng):
    """epsilon-greedy: random action w.p. epsilon, else argmax Q[state]."""
    n_act = Q[state].shape[0]
    greedy = int(np.argmax(Q[state]))
    random_action = int(rng.integers(n_act))
    # draw both, keep one (uses the same number of rng calls every time)
    return random_action if rng.random() < epsilon else greedy


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    """Q[s,a] <- (1-alpha) Q[s,a] + alpha (r + gamma max Q[s2]); target r if terminal."""
    v_next = 0.0 if terminated else np.max(Q[s2])
    Q[s, a] = lerp(Q[s, a], r + gamma * v_next, alpha)
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
    s, _ = env.reset()
    total, done = 0.0, False
    while not done:
        s, r, terminated, truncated, _ = env.step(int(np.argmax(Q[s])))
        total += r
        done = terminated or truncated
    print("greedy return:", total)
