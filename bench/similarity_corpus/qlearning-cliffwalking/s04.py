"""Warm-up: tabular Q-learning on CliffWalking.

Student solution. Both functions below are written without numpy helpers
on purpose, it helped me see what the update actually does.

Run this file to train an agent and print the greedy path's return (-13 is the best).
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    """Pick an action for `state`.

    With probability `epsilon`, explore: a uniformly random action. Otherwise exploit:
    an action with the highest value in Q[state] (break ties however you like).
    """
    values = list(Q[state])
    number_of_actions = len(values)
    explore = rng.random() < epsilon
    if explore:
        return int(rng.integers(low=0, high=number_of_actions))
    best_action = 0
    best_value = values[0]
    for action in range(1, number_of_actions):
        if values[action] > best_value:
            best_value = values[action]
            best_action = action
    return best_action


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    """Apply one Q-learning update to Q[s, a] in place and return the new value (a float).

        Q[s, a] <- (1 - alpha) * Q[s, a] + alpha * (r + gamma * max_a' Q[s2, a'])
    """
    old_value = Q[s][a]
    if terminated:
        next_value = 0.0
    else:
        next_value = max(Q[s2])
    new_value = (1 - alpha) * old_value + alpha * (r + gamma * next_value)
    Q[s][a] = new_value
    return float(new_value)


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
