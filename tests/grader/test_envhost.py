"""The trusted environment host: budgets, true returns, and the replay of a mirrored copy's steps."""
import gymnasium
import numpy as np
import pytest

from grader.envhost import MAX_BATCH, EnvHost
from grader.errors import EnvMismatch


def host(mirror=True, **budget):
    options = {"max_episode_steps": 500, "max_episodes": 100, "max_steps": 10_000} | budget
    return EnvHost(env_id="CartPole-v1", seed=7, mirror=mirror, **options)


class Copy:
    """What the runner does inside the sandbox: a real CartPole started from the state the host sends."""

    def __init__(self, h):
        self.h = h
        self.env = gymnasium.make("CartPole-v1", max_episode_steps=500)
        self.pending, self.done = [], False

    def report(self):
        report = {"env": "env0", "actions": self.pending, "done": self.done}
        self.pending, self.done = [], False
        return report

    def reset(self):
        reply = self.h.handle_request({"op": "env.reset", **self.report()})
        assert reply["op"] == "env.obs", reply
        self.env.reset()
        self.env.unwrapped.state = np.array(reply["state"])
        return np.asarray(reply["obs"], dtype=np.float32)

    def step(self, action):
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self.pending.append(action)
        if terminated or truncated:
            self.done = True
            assert self.h.handle_request({"op": "env.actions", **self.report()}) is None
        return obs, reward, terminated or truncated


def play(h, policy, episodes):
    """Episodes on the host, stepped one request at a time; returns the observations seen."""
    seen = []
    for _ in range(episodes):
        obs = np.asarray(h.handle_request({"op": "env.reset", "env": "env0"})["obs"], dtype=np.float32)
        done = False
        while not done:
            reply = h.handle_request({"op": "env.step", "env": "env0", "action": policy(obs)})
            obs = np.asarray(reply["obs"], dtype=np.float32)
            seen.append(obs)
            done = reply["terminated"] or reply["truncated"]
    return seen


def policy(obs):
    """A deterministic policy that keeps the pole up for a while (long, varied episodes)."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def test_a_faithful_copy_sees_the_episodes_of_the_stepped_environment_and_the_true_returns_are_recorded():
    stepped = host(mirror=False)
    seen_stepped = play(stepped, policy, 6)

    mirrored = host()
    copy = Copy(mirrored)
    seen_mirrored = []
    for _ in range(6):
        obs, done = copy.reset(), False
        while not done:
            obs, _, done = copy.step(policy(obs))
            seen_mirrored.append(obs)
    assert len(seen_mirrored) == len(seen_stepped) > 6 * 30
    assert all(np.array_equal(a, b) for a, b in zip(seen_mirrored, seen_stepped, strict=True))
    assert mirrored.returns == stepped.returns
    assert len(mirrored.returns) == 6
    assert mirrored.steps == len(seen_mirrored)


def test_only_a_mirrored_reset_reveals_the_start_state():
    assert "state" in host().handle_request({"op": "env.reset", "env": "env0", "actions": [], "done": False})
    assert "state" not in host(mirror=False).handle_request({"op": "env.reset", "env": "env0"})
    assert "mirror" in host().arg()["$env"]
    assert "mirror" not in host(mirror=False).arg()["$env"]
    # Only environments whose dynamics are deterministic are mirrored.
    assert not EnvHost(env_id="FrozenLake-v1", seed=1, max_episode_steps=100, max_episodes=1, max_steps=100).mirror


def started(**budget):
    h = host(**budget)
    h.handle_request({"op": "env.reset", "env": "env0", "actions": [], "done": False})
    return h


@pytest.mark.parametrize("report, message", [
    ({"actions": [0] * 200, "done": False}, "the real episode ended"),       # pushed right: falls early
    ({"actions": [0, 1, 0], "done": True}, "the real episode went on"),      # claims an end that did not happen
    ({"actions": [2], "done": False}, "must be an integer from 0 to 1"),
    ({"actions": [True], "done": False}, "must be an integer"),
    ({"actions": ["0"], "done": False}, "must be an integer"),
    ({"actions": "0101", "done": False}, "malformed"),
    ({"actions": [0], "done": "yes"}, "malformed"),
    ({"actions": [0] * (MAX_BATCH + 1), "done": False}, "malformed"),
    ({"actions": [], "done": True}, "without a step"),
])
def test_a_report_that_does_not_match_the_real_environment_is_refused(report, message):
    with pytest.raises(EnvMismatch, match=message):
        started().handle_request({"op": "env.actions", "env": "env0", **report})


def test_steps_past_the_budget_or_after_the_end_are_refused():
    with pytest.raises(EnvMismatch, match="step budget of 5 steps"):
        started(max_steps=5).handle_request({"op": "env.actions", "env": "env0", "actions": [0, 1] * 3,
                                             "done": False})
    copy = Copy(host())
    copy.reset()
    while not copy.step(0)[2]:
        pass
    with pytest.raises(EnvMismatch, match="after the end of an episode"):
        copy.h.handle_request({"op": "env.actions", "env": "env0", "actions": [0], "done": False})


def test_a_mirrored_environment_is_not_stepped_one_request_at_a_time():
    with pytest.raises(EnvMismatch, match="one step at a time"):
        started().handle_request({"op": "env.step", "env": "env0", "action": 0})
    with pytest.raises(EnvMismatch, match="unknown environment"):
        started().handle_request({"op": "env.actions", "env": "env1", "actions": [0], "done": False})


def test_the_episode_budget_is_kept_and_a_reset_mid_episode_records_the_partial_episode():
    h = host(max_episodes=2)
    h.handle_request({"op": "env.reset", "env": "env0", "actions": [], "done": False})
    h.handle_request({"op": "env.reset", "env": "env0", "actions": [0, 1, 0], "done": False})
    assert h.returns == [3.0]
    reply = h.handle_request({"op": "env.reset", "env": "env0", "actions": [1], "done": False})
    assert reply["op"] == "env.error"
    assert "episode budget of 2" in reply["message"]
    assert h.returns == [3.0, 1.0]
