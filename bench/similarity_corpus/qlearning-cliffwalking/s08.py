"""Warm-up: tabular Q-learning on CliffWalking.

Fill in the two functions marked TODO. Keep their names and arguments: the grader calls
them directly. `train` is given; you may read it, run it, and change it if you like.

Run this file to train an agent and print the greedy path's return (-13 is the best).
"""
import gymnasium as gym
import numpy as np

EXPLORE, EXPLOIT = 0, 1


def epsilon_greedy(Q, state, epsilon, rng):
    """Pick an action for `state`."""
    mode = rng.choice([EXPLORE, EXPLOIT], p=[epsilon, 1 - epsilon])
    if mode == EXPLORE:
        return rng.integers(Q.shape[1])
    else:
        return np.argmax(Q[state, :])


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    """Apply one Q-learning update to Q[s, a] in place and return the new value (a float)."""
    max_next_q = 0 if terminated else np.max(Q[s2])
    Q[s, a] = Q[s, a] * (1 - alpha) + (r + gamma * max_next_q) * alpha
    return Q[s, a]


def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
    """Q-learning for `episodes` episodes; returns the Q table (states x actions)."""
    rng = np.random.default_rng(seed)
    n_states, n_actions = env.observation_space.n, env.action_space.n
    Q = np.zeros((n_states, n_actions))
    for _episode in range(episodes):
        state, _ = env.reset()
        finished = False
        while not finished:
            action = epsilon_greedy(Q, state, epsilon, rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            q_update(Q, state, action, reward, next_state, terminated, alpha, gamma)
            state = next_state
            finished = terminated or truncated
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
