"""The environments the student's code steps inside the sandbox (sandbox/runner/proxyenv.py), on their own: a channel
stands in for the trusted side, answering as grader/envhost.py does."""
import gymnasium
import numpy as np
import pytest

from grader.envhost import EnvHost
from sandbox.runner import proxyenv, wire


class Channel:
    """The trusted side, in process: an EnvHost answers every environment message, as Session._serve does."""

    def __init__(self, host: EnvHost, nested_requests=()):
        self.host, self.sent, self.before_reply = host, [], []
        self.waiting = list(nested_requests)  # requests the trusted side sends while the sandbox waits
        self._reply = None

    def send(self, message):
        self.sent.append(message)
        answer = self.host.handle_request(message) if message["op"].startswith("env.") else None
        if answer is not None:
            self._reply = answer

    def receive(self):
        if self.waiting:
            return self.waiting.pop(0)
        reply, self._reply = self._reply, None
        return reply


def env_for(host, **nested):
    return proxyenv.make_proxy_env(Channel(host), host.arg()[wire.ENV], nested)


@pytest.fixture
def host():
    h = EnvHost.for_episodes("CartPole-v1", 811, episodes=3, max_episode_steps=50)
    yield h
    h.close()


def test_cartpole_is_mirrored_and_its_spaces_are_the_real_ones(host):
    env = env_for(host)
    assert isinstance(env, proxyenv.MirroredEnv)
    assert env.action_space == gymnasium.spaces.Discrete(2)
    assert env.observation_space.shape == (4,)


def test_a_mirrored_episode_is_replayed_on_the_trusted_side_step_for_step(host):
    env = env_for(host)
    obs, _ = env.reset()
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(obs[2] > 0))
        total += reward
        done = terminated or truncated
    env.reset()  # the next reset reports the episode's last actions first
    assert host.returns == [total]


def test_the_actions_go_out_in_one_report_per_episode(host):
    env = env_for(host)
    env.reset()
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        done = terminated or truncated
    reports = [m for m in env.channel.sent if m["op"] == "env.actions"]
    assert len(reports) == 1
    assert reports[0]["done"] is True


def test_a_step_before_reset_is_refused_with_words(host):
    with pytest.raises(proxyenv.EnvError, match="call env.reset"):
        env_for(host).step(0)


@pytest.mark.parametrize("action", [2, -1, 0.5, True, "left"])
def test_an_action_outside_the_space_is_refused_with_words(host, action):
    env = env_for(host)
    env.reset()
    with pytest.raises(proxyenv.EnvError, match="an action must be an integer from 0 to 1"):
        env.step(action)


def test_a_numpy_integer_is_an_action(host):
    env = env_for(host)
    env.reset()
    assert len(env.step(np.int64(1))) == 5


def test_the_episode_budget_ends_with_the_trusted_side_s_refusal(host):
    env = env_for(host)
    for _ in range(3):
        env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
    with pytest.raises(proxyenv.EnvError, match="episode budget of 3 episodes is spent"):
        env.reset()


def test_requests_of_the_trusted_side_are_answered_while_a_reset_waits(host):
    answered = []
    channel = Channel(host, nested_requests=[{"op": "act", "obs": [0, 0, 0, 0]}])
    env = proxyenv.make_proxy_env(channel, host.arg()[wire.ENV], {"act": lambda ch, req: answered.append(req)})
    env.reset()
    assert answered == [{"op": "act", "obs": [0, 0, 0, 0]}]


def test_a_stepped_environment_makes_a_round_trip_per_step():
    h = EnvHost.for_episodes("CliffWalking-v1", 811, episodes=1, max_episode_steps=5)
    try:
        env = env_for(h)
        assert not isinstance(env, proxyenv.MirroredEnv)
        env.reset()
        env.step(1)
        assert [m["op"] for m in env.channel.sent] == ["env.reset", "env.step"]
    finally:
        h.close()


def test_the_wire_encodes_what_json_cannot_carry():
    assert wire.encode(float("nan")) == {wire.FLOAT: "nan"}
    assert wire.encode(np.array([1.0, np.inf])) == {wire.ND_NONFINITE: [2]}
    assert wire.encode(object()) == {wire.UNSUPPORTED: "object"}
