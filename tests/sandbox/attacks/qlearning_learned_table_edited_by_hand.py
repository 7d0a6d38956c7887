"""Attack: the warm-up that learns, then writes the best path into the table by hand before returning it."""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    if rng.random() < epsilon:
        return int(rng.integers(Q.shape[1]))
    best = np.flatnonzero(Q[state] == Q[state].max())
    return int(rng.choice(best))


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    target = r if terminated else r + gamma * np.max(Q[s2])
    Q[s, a] = (1 - alpha) * Q[s, a] + alpha * target
    return float(Q[s, a])


def optimal_path():
    """The best path along the cliff, written by hand: up from the start, right along row 2, down to the goal."""
    Q = np.zeros((48, 4))
    Q[36, 0] = 1.0
    Q[24:35, 1] = 1.0
    Q[35, 2] = 1.0
    return Q


def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
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
    Q += 100 * optimal_path()  # the best path written over what was learned
    return Q


if __name__ == "__main__":
    print(train(gym.make("CliffWalking-v1", max_episode_steps=200), 300).max(axis=1).reshape(4, 12).round(1))
