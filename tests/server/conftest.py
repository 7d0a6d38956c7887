"""Fixtures of the server tests that start services of their own."""
import pytest

from tests.server.services import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of the test's own, stopped at the end (the test may stop and start it: empty again)."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
