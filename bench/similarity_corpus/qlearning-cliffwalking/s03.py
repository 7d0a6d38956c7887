"""Warm-up: tabular Q-learning on CliffWalking.

Fill in the two functions marked TODO. Keep their names and arguments: the grader calls
them directly. `train` is given; you may read it, run it, and change it if you like.

Run this file to train an agent and print the greedy path's return (-13 is the best).
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    """Pick an action for `state` (epsilon-greedy w.r.t. Q)."""
    nA = len(Q[state])
    # every action gets epsilon/nA, the greedy one gets the rest on top
    probs = np.full(nA, epsilon / nA)
    probs[np.argmax(Q[state])] += 1.0 - epsilon
    return rng.choice(nA, p=probs)


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    """One Q-learning step on Q[s, a], in place. Returns the new value."""
    Q[s, a] = (1 - alpha) * Q[s, a] + alpha * (r + (0 if terminated else gamma * Q[s2].max()))
    return Q[s, a]


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
