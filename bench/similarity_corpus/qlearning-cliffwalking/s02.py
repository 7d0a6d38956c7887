"""Warm-up: tabular Q-learning on CliffWalking.

Fill in the two functions marked TODO. Keep their names and arguments: the grader calls
them directly. `train` is given; you may read it, run it, and change it if you like.

Run this file to train an agent and print the greedy path's return (-13 is the best).
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    # explore
    if rng.uniform() <= epsilon and epsilon > 0:
        a = rng.integers(0, Q.shape[-1])
    # exploit, random tie breaking so we don't always go "up" at the start
    else:
        row = Q[state]
        best = np.flatnonzero(row == row.max())
        a = rng.choice(best)
    return int(a)


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    # td target: no bootstrap after the last step
    future = 0.0 if terminated else Q[s2].max()
    td_target = r + gamma * future
    td_error = td_target - Q[s][a]
    Q[s][a] += alpha * td_error
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
    s, _ = env.reset()
    total, done = 0.0, False
    while not done:
        s, r, terminated, truncated, _ = env.step(int(np.argmax(Q[s])))
        total += r
        done = terminated or truncated
    print("greedy return:", total)
