"""Correct, in the style of gymnasium's documentation tutorial "Training an agent" (a tabular Q-learning agent
for Blackjack, gymnasium.farama.org).

What the tutorial does and this file keeps: an agent class holding the Q-values, the learning rate, the
discount factor and an epsilon that decays linearly to a final value; `get_action` that explores when
`np.random.random() < epsilon` and otherwise returns `int(np.argmax(q_values[obs]))`; an update that computes
`future_q_value = (not terminated) * np.max(...)` and the temporal difference, and keeps the training error.
Adapted to the assignment's contract only: the two functions the grader calls take the Q table and the `rng`
and the agent delegates to them, and train() has the contract's signature and returns the table.
"""
import gymnasium as gym
import numpy as np


def epsilon_greedy(Q, state, epsilon, rng):
    # with probability epsilon return a random action to explore the environment
    if rng.random() < epsilon:
        return int(rng.integers(0, Q.shape[1]))
    # with probability (1 - epsilon) act greedily (exploit)
    return int(np.argmax(Q[state]))


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    future_q_value = (not terminated) * np.max(Q[s2])
    temporal_difference = r + gamma * future_q_value - Q[s][a]
    Q[s][a] = Q[s][a] + alpha * temporal_difference
    return Q[s][a]


class QAgent:
    def __init__(self, n_states, n_actions, learning_rate, initial_epsilon, epsilon_decay, final_epsilon,
                 discount_factor, rng):
        self.q_values = np.zeros((n_states, n_actions))
        self.lr = learning_rate
        self.discount_factor = discount_factor
        self.epsilon = initial_epsilon
        self.epsilon_decay = epsilon_decay
        self.final_epsilon = final_epsilon
        self.rng = rng
        self.training_error = []

    def get_action(self, obs):
        return epsilon_greedy(self.q_values, obs, self.epsilon, self.rng)

    def update(self, obs, action, reward, terminated, next_obs):
        before = self.q_values[obs][action]
        after = q_update(self.q_values, obs, action, reward, next_obs, terminated, self.lr, self.discount_factor)
        self.training_error.append(after - before)

    def decay_epsilon(self):
        self.epsilon = max(self.final_epsilon, self.epsilon - self.epsilon_decay)


def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
    start_epsilon = 1.0
    agent = QAgent(env.observation_space.n, env.action_space.n, learning_rate=alpha,
                   initial_epsilon=start_epsilon, epsilon_decay=start_epsilon / (episodes / 2),
                   final_epsilon=epsilon, discount_factor=gamma, rng=np.random.default_rng(seed))
    for episode in range(episodes):
        obs, info = env.reset()
        done = False
        # play one episode
        while not done:
            action = agent.get_action(obs)
            next_obs, reward, terminated, truncated, info = env.step(action)
            # update the agent
            agent.update(obs, action, reward, terminated, next_obs)
            # update if the environment is done and the current obs
            done = terminated or truncated
            obs = next_obs
        agent.decay_epsilon()
    return agent.q_values


if __name__ == "__main__":
    Q = train(gym.make("CliffWalking-v1", max_episode_steps=200), episodes=300)
    print(Q.max(axis=1).reshape(4, 12).round(1))
