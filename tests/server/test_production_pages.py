"""The service runs like production, the demo included: DEBUG off, real 404 and 500 pages that tell nothing about
the code or the settings, and static files served by WhiteNoise. The demo's web server (scripts/web.sh) is
started here as `make demo` starts it and asked for what an outsider would try."""
import os
import re
import urllib.error
import urllib.request

import pytest
from django.test import Client
from django.urls import path

from tests.conftest import ROOT, free_port, serving

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug in a view, with a secret in its message: redis://:hunter2@broker")


urlpatterns = [path("boom/", _boom)]


def test_an_unknown_address_is_the_404_page_without_the_url_patterns(client):
    response = client.get("/nonexistent")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "URLconf" not in response.content.decode()


def test_a_server_error_is_the_500_page_without_a_traceback(settings):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "hunter2" not in page
    assert "Traceback" not in page


def test_static_files_are_served_with_debug_off(settings):
    settings.DEBUG = False
    response = Client().get("/static/bellman.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


@pytest.fixture(scope="module")
def demo_web():
    """scripts/web.sh, the demo's web server, on a loopback port."""
    port = free_port()
    env = {**os.environ, "DJANGO_SECRET_KEY": "demo-web-test", "BELLMAN_VAR_DIR": str(ROOT / "var" / "test" / "web")}
    for name in ("DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE", "BELLMAN_TEST_DATABASE", "BELLMAN_TEST_POSTGRES_URL"):
        env.pop(name, None)  # the project's settings, as the demo has them
    base = f"http://127.0.0.1:{port}"
    with serving(["bash", "scripts/web.sh", f"127.0.0.1:{port}"], env=env, ready_url=base + "/static/bellman.css"):
        yield base


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_demo_answers_an_unknown_address_with_the_404_page(demo_web):
    status, page = fetch(demo_web + "/nonexistent")
    assert status == 404
    assert "Page not found" in page
    assert not re.search(r"URLconf|urlpatterns|DEBUG = True", page)


def test_the_demo_serves_its_static_files(demo_web):
    status, css = fetch(demo_web + "/static/bellman.css")
    assert status == 200
    assert css.strip()
