"""Actor-critic on CartPole: the policy gradient with a learned critic.

Four pieces are left for you, each marked TODO (README.md explains them): the model's forward pass,
select_action, td_targets and actor_critic_loss. train() is written for you and uses them; run this file
to watch the actor and the critic learn (a minute or so on a laptop).

The grader checks each piece on its own, then trains your model with train() on CartPole-v1 and plays
the actor's most likely actions on episodes it has never seen.
"""
import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn


def stable_softmax(x):
    # subtract the max before exp so big logits don't overflow
    z = x - x.max(dim=-1, keepdim=True).values
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)


class ActorCritic(nn.Module):
    """Two small networks: the actor, from a state to the probability of each action, and the critic,
    from a state to its value V(s).

    The grader builds it as ActorCritic(), with no arguments, as train() does: keep a default for every
    argument. Keep the two networks ``self.actor`` and ``self.critic``: train() gives each its own
    learning rate.
    """

    def __init__(self, n_obs=4, n_actions=2, hidden=128):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(n_obs, hidden), nn.Tanh(), nn.Linear(hidden, n_actions))
        self.critic = nn.Sequential(nn.Linear(n_obs, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, states):
        """Action probabilities and state values of ``states``.

        ``states``: a float32 tensor of shape (batch, 4), or (4,) for one state (the grader sends both, and
        the evaluation sends one state at a time). Returns ``(probs, values)``: for a batch, probs of shape
        (batch, n_actions) (non-negative, each row summing to 1) and values of shape (batch,); for one state,
        probs of shape (n_actions,) and a value of shape () (a 0-d tensor). Both keep their gradient.
        """
        states = torch.as_tensor(states, dtype=torch.float32)
        scores = self.actor(states)
        probs = stable_softmax(scores)
        # critic output is (..., 1) -> remove the trailing 1
        values = self.critic(states)
        values = values.view(values.shape[:-1])
        return probs, values


def select_action(model, state):
    """Sample an action from the actor's distribution in ``state``, and give the critic's value of it.

    ``model``: an ActorCritic; ``state``: one state as the environment returns it, a numpy float32 array
    of shape (4,). Returns ``(action, log_prob, value)``: the action (an int), its log-probability
    log pi(a|s) and the value V(s), each a tensor holding one number that keeps its gradient.
    """
    s = torch.from_numpy(np.asarray(state, dtype=np.float32))
    probs, value = model(s)
    idx = torch.multinomial(probs, num_samples=1)  # shape (1,)
    logProb = torch.log(probs.gather(0, idx))
    return idx.item(), logProb, value


def td_targets(rewards, next_values, terminated, gamma):
    """One-step TD targets: y_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t).

    ``rewards``, ``next_values`` and ``terminated``: 1-D float32 tensors of the same length T
    (``next_values`` carries the critic's gradient; ``terminated`` is 1.0 where the step ended the episode
    for real, 0.0 elsewhere); ``gamma``: a float. Returns a 1-D tensor of shape (T,) with no gradient: the
    target is held constant, the critic moves V(s_t) towards it.
    """
    ys = []
    for t in range(len(rewards)):
        r = rewards[t].item()
        if terminated[t].item() == 1.0:
            ys.append(r)  # pole fell: nothing after this
        else:
            ys.append(r + gamma * next_values[t].item())
    return torch.tensor(ys, dtype=torch.float32)


def actor_critic_loss(log_probs, values, targets):
    """The actor's policy-gradient term with the advantage held constant, plus the critic's squared error.

    ``log_probs``: 1-D float32 tensor of shape (T,), log pi(a_t|s_t), with its gradient; ``values``: 1-D
    float32 tensor of shape (T,), V(s_t), with its gradient; ``targets``: 1-D float32 tensor of shape
    (T,), the TD targets y_t. Returns a scalar tensor.
    """
    # advantages as plain numbers so no gradient goes into the critic through the actor term
    advs = torch.tensor([(targets[i] - values[i]).item() for i in range(len(values))])
    actorLoss = torch.sum(-log_probs * advs)
    criticLoss = torch.sum((targets - values) ** 2)
    return actorLoss + criticLoss


def train(env, episodes, gamma=0.99, lr=1e-3, seed=0):
    """Plays ``episodes`` episodes of ``env`` (a gymnasium CartPole-v1), updating the actor and the critic
    after each on its one-step transitions; returns the trained ActorCritic."""
    torch.manual_seed(seed)
    model = ActorCritic()
    # The critic learns twenty times faster than the actor: the actor follows the critic's advantages,
    # which are only worth following once the values are roughly right.
    optimizer = torch.optim.Adam([
        {"params": model.actor.parameters(), "lr": lr},
        {"params": model.critic.parameters(), "lr": 20 * lr},
    ])
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        log_probs, values, rewards, next_states, terminals = [], [], [], [], []
        done = False
        while not done:
            action, log_prob, value = select_action(model, state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            log_probs.append(log_prob.reshape(()))
            values.append(value.reshape(()))
            rewards.append(float(reward))
            next_states.append(next_state)
            # Only a real end (the pole fell, the cart left the track) has no future. A truncated episode
            # (the 500-step limit) stops, but its next state still has a value: bootstrap on it.
            terminals.append(float(terminated))
            state = next_state
            done = terminated or truncated
        _, next_values = model(torch.as_tensor(np.array(next_states), dtype=torch.float32))
        targets = td_targets(torch.tensor(rewards, dtype=torch.float32), next_values,
                             torch.tensor(terminals, dtype=torch.float32), gamma)
        loss = actor_critic_loss(torch.stack(log_probs), torch.stack(values), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (episode + 1) % 50 == 0:
            print(f"episode {episode + 1}: return {sum(rewards):.0f}")
    return model


if __name__ == "__main__":
    # Each piece on a small input first: the shapes the docstrings promise.
    model = ActorCritic()
    probs, values = model(torch.zeros(3, 4))
    print("batch of 3:", tuple(probs.shape), tuple(values.shape))  # (3, 2) (3,)
    probs, value = model(torch.zeros(4))
    print("one state:", tuple(probs.shape), tuple(value.shape))  # (2,) ()
    print("select_action:", select_action(model, np.zeros(4, dtype=np.float32)))
    print("td_targets:", td_targets(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 3.0]),
                                    torch.tensor([0.0, 1.0]), 0.9))  # tensor([2.8, 1.0])
    # 0.653 with means (1.307 with sums): advantages 1 and -1, squared errors 1 and 1.
    print("actor_critic_loss:", actor_critic_loss(torch.log(torch.tensor([0.5, 0.25])),
                                                  torch.tensor([1.0, 2.0]), torch.tensor([2.0, 1.0])))

    env = gym.make("CartPole-v1")
    model = train(env, episodes=500)
    model.eval()
    state, _ = env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        with torch.no_grad():
            probs, _ = model(state)
        state, reward, terminated, truncated, _ = env.step(int(torch.argmax(probs)))
        total += reward
        done = terminated or truncated
    print(f"greedy return after training: {total:.0f}")
