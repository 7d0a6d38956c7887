"""Correct, in the style of Denny Britz's widely copied reinforcement-learning exercises (dennybritz/
reinforcement-learning, TD/Q-Learning Solution), which follow Sutton and Barto's chapter 6.

What the exercises do and this file keeps: epsilon-greedy written as a probability for every action,
`epsilon / nA` each plus `1 - epsilon` on the best one, and one draw from that distribution with `p=`; the
update as `td_target`, `td_delta` and `Q[state][action] += alpha * td_delta`; a `make_epsilon_greedy_policy`
closure used by the training loop.
Adapted to the assignment's contract only: the draw uses the `rng` given, the functions have the contract's
names and arguments (a terminal transition has no future value, which the exercise's loop gets by breaking
before the next state is used), and train() returns the table.
"""
import gymnasium as gym
import numpy as np


def action_probabilities(Q, state, epsilon):
    nA = Q.shape[1]
    A = np.ones(nA, dtype=float) * epsilon / nA
    best_action = np.argmax(Q[state])
    A[best_action] += (1.0 - epsilon)
    return A


def epsilon_greedy(Q, state, epsilon, rng):
    action_probs = action_probabilities(Q, state, epsilon)
    return int(rng.choice(np.arange(len(action_probs)), p=action_probs))


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    best_next_action = np.argmax(Q[s2])
    td_target = r + (0.0 if terminated else gamma * Q[s2][best_next_action])
    td_delta = td_target - Q[s][a]
    Q[s][a] += alpha * td_delta
    return Q[s][a]


def make_epsilon_greedy_policy(Q, epsilon, rng):
    def policy_fn(observation):
        return epsilon_greedy(Q, observation, epsilon, rng)
    return policy_fn


def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
    rng = np.random.default_rng(seed)
    Q = np.zeros((env.observation_space.n, env.action_space.n))
    policy = make_epsilon_greedy_policy(Q, epsilon, rng)
    for i_episode in range(episodes):
        state, _ = env.reset()
        while True:
            action = policy(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            q_update(Q, state, action, reward, next_state, terminated, alpha, gamma)
            if terminated or truncated:
                break
            state = next_state
    return Q


if __name__ == "__main__":
    Q = train(gym.make("CliffWalking-v1", max_episode_steps=200), episodes=300)
    print(Q.max(axis=1).reshape(4, 12).round(1))
