import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    q = Q[state]
    greedy_actions = np.where(np.isclose(q, np.max(q)))[0]
    if rng.random() >= epsilon:
        # pick among the best ones
        return int(greedy_actions[rng.integers(len(greedy_actions))])
    return int(rng.integers(len(q)))


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    if not terminated:
        best_next = np.amax(Q[s2, :])
        target = r + gamma * best_next
    else:
        target = r
    Q[s, a] = Q[s, a] + alpha * (target - Q[s, a])
    return Q[s, a].item()


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
