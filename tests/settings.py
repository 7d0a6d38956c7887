"""Settings for the test suite: the project's settings with safe test defaults in the environment."""
import os
from pathlib import Path

_var = Path(os.environ.get("BELLMAN_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
(_var / "test").mkdir(parents=True, exist_ok=True)
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
# A file test database (not in memory), so that a Celery worker process sees what the tests write.
os.environ["BELLMAN_TEST_DATABASE"] = str(_var / "test" / "test.sqlite3")
# Tests that need Redis start their own server; nothing reaches a Redis by accident.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")

from server.settings import *  # noqa: E402,F401,F403

# `make test` runs the suite on a PostgreSQL server of its own (BELLMAN_TEST_POSTGRES_URL); without it,
# on the SQLite file above.
if os.environ.get("BELLMAN_TEST_POSTGRES_URL"):
    import dj_database_url  # noqa: E402

    DATABASES = {"default": dj_database_url.parse(os.environ["BELLMAN_TEST_POSTGRES_URL"])}  # noqa: F811
    DATABASES["default"]["TEST"] = {"NAME": f"test_bellman_{os.getpid()}"}

# Personas are created by the hundred: a fast hash keeps the suite quick (never in production).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests submit for the same few personas many times a minute: the submission rate (one count for the form and the
# API) is set by the tests that test it.
BELLMAN_API_RATE_SUBMIT = "100000/min"
