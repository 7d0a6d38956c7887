"""Correct, in the style of the Hugging Face Deep RL course, unit 2 ("Q-Learning" hands-on).

What the course does and this file keeps: a separate `greedy_policy(Qtable, state)` that takes
`np.argmax(Qtable[state][:])`, an `epsilon_greedy_policy` that draws `random_num` from a uniform and exploits
when it is greater than epsilon, the update written as `Qtable[state][action] + learning_rate * (reward +
gamma * np.max(Qtable[new_state]) - Qtable[state][action])` with chained indexing, and a training loop that
decays epsilon exponentially from 1.0 and stops after `max_steps` or when the episode ends.
Adapted to the assignment's contract only: the draws use the `rng` given (the course uses `random` and
`env.action_space.sample()`), the function names and arguments are the contract's, the update has no future
value when the episode terminated (the course's environments never update their terminal states, but the
contract asks for it), and it returns the new value.
"""
import gymnasium as gym
import numpy as np


def greedy_policy(Qtable, state):
    # Exploitation: take the action with the highest state, action value
    action = np.argmax(Qtable[state][:])
    return action


def epsilon_greedy(Q, state, epsilon, rng):
    # Randomly generate a number between 0 and 1
    random_num = rng.uniform(0, 1)
    # if random_num > greater than epsilon --> exploitation
    if random_num > epsilon:
        action = greedy_policy(Q, state)
    # else --> exploration
    else:
        action = rng.integers(Q.shape[1])
    return int(action)


def q_update(Q, s, a, r, s2, terminated, alpha, gamma):
    # Update Q(s,a):= Q(s,a) + lr [R(s,a) + gamma * max Q(s',a') - Q(s,a)]
    future = 0.0 if terminated else np.max(Q[s2])
    Q[s][a] = Q[s][a] + alpha * (r + gamma * future - Q[s][a])
    return Q[s][a]


def train(env, episodes, alpha=0.5, gamma=0.99, epsilon=0.1, seed=0):
    # Exploration parameters
    max_epsilon = 1.0  # Exploration probability at start
    min_epsilon = epsilon  # Minimum exploration probability
    decay_rate = 0.05  # Exponential decay rate for exploration prob
    max_steps = 200  # Max steps per episode
    rng = np.random.default_rng(seed)
    Qtable = np.zeros((env.observation_space.n, env.action_space.n))
    for episode in range(episodes):
        # Reduce epsilon (because we need less and less exploration)
        eps = min_epsilon + (max_epsilon - min_epsilon) * np.exp(-decay_rate * episode)
        state, info = env.reset()
        for step in range(max_steps):
            action = epsilon_greedy(Qtable, state, eps, rng)
            new_state, reward, terminated, truncated, info = env.step(action)
            q_update(Qtable, state, action, reward, new_state, terminated, alpha, gamma)
            # If terminated or truncated finish the episode
            if terminated or truncated:
                break
            # Our next state is the new state
            state = new_state
    return Qtable


if __name__ == "__main__":
    Q = train(gym.make("CliffWalking-v1", max_episode_steps=200), episodes=300)
    print(Q.max(axis=1).reshape(4, 12).round(1))
