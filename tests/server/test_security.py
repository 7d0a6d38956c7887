"""Defences of the web process (server/security.py and the settings): the request body cap, login
throttling, password rules, HTTPS headers behind the proxy, the Content Security Policy, and the files
the server keeps on the host readable by their owner only."""
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


class WatchedBody(io.BytesIO):
    """A request body that records how much of it was read, and what the upload folder held meanwhile."""

    def __init__(self, data, folder):
        super().__init__(data)
        self.folder, self.bytes_read, self.seen = folder, 0, set()

    def read(self, size=-1):
        self.seen.update(os.listdir(self.folder))
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        return self.read(size)  # never called with the cap in place; enough to count bytes without it


def log_in(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# -- the request body cap --------------------------------------------------------------------------
def test_a_body_over_the_cap_is_refused_at_the_login_page_before_it_is_read(client, alice, settings, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads)
    big = io.BytesIO(b"x" * settings.BELLMAN_MAX_REQUEST_BYTES)
    big.name = "big.bin"
    data = encode_multipart(BOUNDARY, {"username": "alice", "password": "pw-alice-123", "junk": big})
    body = WatchedBody(data, uploads)
    response = client.generic("POST", "/login/", data, content_type=MULTIPART_CONTENT, **{"wsgi.input": body})
    assert response.status_code == 413
    assert "accepts at most 2.2\xa0MB in one request" in response.content.decode()
    assert not logged_in(client)
    assert body.bytes_read == 0
    assert body.seen == set()
    assert os.listdir(uploads) == []


def test_a_normal_login_still_works(client, alice):
    response = log_in(client, "alice", "pw-alice-123")
    assert response.status_code == 302
    assert logged_in(client)


def test_a_body_of_unknown_length_is_refused(client, alice):
    response = client.generic("POST", "/login/", b"username=alice&password=pw-alice-123",
                              content_type="application/x-www-form-urlencoded",
                              CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()
    assert not logged_in(client)


def test_the_cap_is_above_every_upload_limit_and_the_proxy_applies_the_same(settings):
    assert settings.BELLMAN_MAX_REQUEST_BYTES > max(settings.BELLMAN_MAX_UPLOAD_BYTES,
                                                    settings.BELLMAN_MAX_ROSTER_BYTES)
    conf = (ROOT / "docker" / "nginx.conf").read_text()
    kilobytes = re.search(r"client_max_body_size\s+(\d+)k;", conf).group(1)
    assert int(kilobytes) * 1024 == settings.BELLMAN_MAX_REQUEST_BYTES
    assert settings.MIDDLEWARE[0] == "server.security.RequestBodyLimitMiddleware"


# -- login throttling ------------------------------------------------------------------------------
def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(client, alice):
    for _ in range(4):
        assert log_in(client, "alice", "wrong").status_code == 200
    assert log_in(client, "alice", "wrong").status_code == 429
    response = log_in(client, "alice", "pw-alice-123")
    assert response.status_code == 429
    assert not logged_in(client)
    assert "Too many failed logins" in response.content.decode()
    assert "paused for 15 minutes" in response.content.decode()


def test_the_admin_login_is_throttled_too(client, irene):
    from server.courses.services import enrolment_set

    enrolment_set(course=irene.enrolments.get().course, user=irene, role="instructor")
    for _ in range(5):
        client.post("/admin/login/", {"username": "irene", "password": "wrong", "next": "/admin/"})
    response = client.post("/admin/login/", {"username": "irene", "password": "pw-irene-123", "next": "/admin/"})
    assert response.status_code == 429
    assert not logged_in(client)


def test_failures_count_per_account_and_address(client, alice, bob):
    for _ in range(5):
        log_in(client, "alice", "wrong")
    assert log_in(Client(), "bob", "pw-bob-123").status_code == 302  # the same address, another account
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert log_in(elsewhere, "alice", "pw-alice-123").status_code == 302  # the account, from elsewhere


def test_behind_the_proxy_the_address_is_the_one_the_proxy_forwards(rf, settings):
    from server.security import client_ip

    request = rf.get("/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.7")
    settings.BELLMAN_BEHIND_PROXY = False
    assert client_ip(request) == "172.18.0.5"  # a header nobody vouches for is ignored
    settings.BELLMAN_BEHIND_PROXY = True
    assert client_ip(request) == "10.0.0.7"


# -- passwords ---------------------------------------------------------------------------------------
def test_all_four_password_rules_apply(alice):
    from django.contrib.auth.password_validation import validate_password

    codes = set()
    for password in ("alice.uni", "8361", "password123", "7736159902"):
        with pytest.raises(ValidationError) as refused:
            validate_password(password, user=alice)
        codes |= {e.code for e in refused.value.error_list}
    assert codes >= {"password_too_similar", "password_too_short", "password_too_common",
                     "password_entirely_numeric"}
    validate_password("a-long-passphrase-42", user=alice)


# -- HTTPS and headers -------------------------------------------------------------------------------
def settings_in_a_fresh_process(**env) -> dict:
    code = ("import json, server.settings as s; print(json.dumps({'hsts': s.SECURE_HSTS_SECONDS, "
            "'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None)}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BELLMAN_"))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**clean, "DJANGO_SECRET_KEY": "x", **env})
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hsts_is_on_unless_debugging_and_the_proxy_header_only_behind_the_proxy():
    assert settings_in_a_fresh_process() == {"hsts": 365 * 24 * 3600, "proxy": None}
    assert settings_in_a_fresh_process(DJANGO_DEBUG="true")["hsts"] == 0
    assert settings_in_a_fresh_process(DJANGO_HSTS_SECONDS="600")["hsts"] == 600
    assert settings_in_a_fresh_process(BELLMAN_BEHIND_PROXY="true")["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_behind_the_proxy_an_https_request_gets_hsts(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/login/")  # plain HTTP: nothing to pin


def test_pages_carry_a_policy_without_inline_script(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


INLINE = [(re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "an inline <script>"),
          (re.compile(r"<style\b", re.I), "a <style> block"),
          (re.compile(r"\sstyle=", re.I), "a style attribute"),
          (re.compile(r"\son[a-z]+=", re.I), "an event handler attribute"),
          (re.compile(r"javascript:", re.I), "a javascript: URL")]


def test_no_page_template_has_inline_script_or_style():
    found = []
    for template in sorted((ROOT / "server").rglob("templates/**/*.html")):
        if "notifications" in template.parts and template.name not in ("preferences.html", "unsubscribe.html"):
            continue  # e-mails: read in a mail client, where inline styles are the only styles
        text = template.read_text()
        found += [f"{template.relative_to(ROOT)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert found == []


# -- files on the host ------------------------------------------------------------------------------
def mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_the_database_and_its_log_files_are_private(tmp_path):
    from django.db.utils import ConnectionHandler

    path = tmp_path / "bellman.sqlite3"
    old = os.umask(0o022)  # the common default: without the fix, files come out 0644
    try:
        handler = ConnectionHandler({"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"}}})
        connection = handler["default"]
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (x)")
            cursor.execute("INSERT INTO t VALUES (1)")
        files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        assert len(files) == 3
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        connection.close()
    finally:
        os.umask(old)


def test_the_test_database_is_private_too():
    """Run by `make test` in its SQLite pass (PostgreSQL keeps its files itself)."""
    from django.db import connection

    assert connection.vendor == "sqlite", "run this test on SQLite (make test does, in its second pass)"
    connection.ensure_connection()
    assert mode(connection.settings_dict["NAME"]) == 0o600


@pytest.fixture
def scripts_copy(tmp_path):
    """scripts/lib.sh in a checkout of its own (no .env), with the real virtual environment."""
    top = tmp_path / "checkout"
    (top / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "lib.sh", top / "scripts" / "lib.sh")
    (top / ".venv").symlink_to(ROOT / ".venv")
    return top


def load_env(top, var):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    subprocess.run(["bash", "-c", "umask 022; . scripts/lib.sh; load_env"], cwd=top, check=True,
                   env={**env, "BELLMAN_VAR_DIR": str(var)})


def test_the_generated_secret_key_is_private(scripts_copy, tmp_path):
    var = tmp_path / "var"
    load_env(scripts_copy, var)
    key = var / "secret_key"
    assert len(key.read_text().strip()) > 50
    assert mode(key) == 0o600


def test_an_older_readable_secret_key_is_narrowed(scripts_copy, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret_key").write_text("an-old-key\n")
    (var / "secret_key").chmod(0o644)
    load_env(scripts_copy, var)
    assert (var / "secret_key").read_text() == "an-old-key\n"
    assert mode(var / "secret_key") == 0o600
