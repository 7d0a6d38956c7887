"""Warm-up: tabular Q-learning on CliffWalking.

Fill in the two functions marked TODO. Keep their names and arguments: the grader calls
them directly. `train` is given; you may read it, run it, and change it if you like.

Run this file to train an agent and print the greedy path's return (-13 is the best).
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    """Pick an action for `state`.

    Q: numpy float array of shape (n_states, n_actions); state: int; epsilon: float from 0 to 1;
    rng: a numpy Generator (np.random.default_rng(...)).

    With probability `epsilon`, explore: a uniformly random action. Otherwise exploit:
    an action with the highest value in Q[state] (break ties however you like).
    Use `rng` for every random draw, so that runs are reproducible.
    Return the action as an int (a numpy integer is fine too).
    """
    actions = range(Q.shape[1])
    p = rng.random()
    if p > epsilon:
        # greedy; shuffle first so that equal values are picked at random
        order = rng.permutation(len(actions))
        return int(order[np.argmax(Q[state][order])])
    return int(rng.choice(actions))


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    """Apply one Q-learning update to Q[s, a] in place and return the new value (a float).

    Q: numpy float array of shape (n_states, n_actions); s, a, s2: int; r: float;
    terminated: bool; alpha, gamma: float.

        Q[s, a] <- (1 - alpha) * Q[s, a] + alpha * (r + gamma * max_a' Q[s2, a'])

    When the episode `terminated` in s2 there is no future: the target is just r.
    (Check yourself on the lesson's example: Q = 0, r = -1, alpha = 0.7, gamma = 0.99 gives -0.7.)
    """
    target = r
    if not terminated:
        target += gamma * Q[s2].max()
    new = (1.0 - alpha) * Q[s, a] + alpha * target
    Q[s, a] = new
    return new


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
    # quick sanity check from the lesson
    Qt = np.zeros((2, 2))
    assert abs(q_update(Qt, 0, 1, -1.0, 1, False, 0.7, 0.99) + 0.7) < 1e-9
    env = gym.make("CliffWalking-v1", max_episode_steps=200)
    Q = train(env, episodes=300)
    s, _ = env.reset()
    total, done = 0.0, False
    while not done:
        s, r, terminated, truncated, _ = env.step(int(np.argmax(Q[s])))
        total += r
        done = terminated or truncated
    print("greedy return:", total)
