"""Flower is behind a login: started as `make demo` starts it (scripts/flower.sh) it answers 401 without the
log-in, to its pages and to its API; with it, both. docker-compose.yml will not start Flower without one."""
import base64
import os
import urllib.error
import urllib.request

import pytest
import yaml

from tests.conftest import ROOT, free_port, serving

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def flower(redis_url, tmp_path_factory):
    var = tmp_path_factory.mktemp("flower-var")
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "BELLMAN_VAR_DIR": str(var), "DJANGO_SECRET_KEY": "flower-test"}
    env.pop("FLOWER_BASIC_AUTH", None)
    base = f"http://127.0.0.1:{port}"
    with serving(["bash", "scripts/flower.sh", "127.0.0.1", str(port)], env=env, ready_url=base + "/healthcheck"):
        yield base, (var / "flower_auth").read_text().strip(), var / "flower_auth"


def status(url, auth=None):
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_its_pages_need_the_login(flower):
    base, _, _ = flower
    assert status(base + "/tasks") == 401


def test_its_api_needs_the_login(flower):
    base, _, _ = flower
    assert status(base + "/api/workers") == 401


def test_with_the_login_its_pages_answer(flower):
    base, auth, _ = flower
    assert status(base + "/tasks", auth) == 200


def test_the_login_made_for_the_demo_is_long_and_readable_by_its_owner_only(flower):
    _, auth, path = flower
    user, _, password = auth.partition(":")
    assert user == "ops"
    assert len(password) >= 20
    assert path.stat().st_mode & 0o077 == 0


def test_compose_starts_flower_only_with_a_login():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["flower"]["command"]
    assert "--basic-auth=${FLOWER_BASIC_AUTH:?" in command
    assert compose["services"]["flower"]["ports"] == ["127.0.0.1:5555:5555"]
