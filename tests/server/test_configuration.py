"""Commands work as the README shows them after `make setup` / `make demo`: the generated secret key is read
from var/secret_key when DJANGO_SECRET_KEY is not set, and nothing else stands in for it."""
import os
import subprocess
import sys

from tests.conftest import ROOT


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG",
                                                             "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_generated_key_is_used_without_the_variable(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 50 + "\n")
    result = manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)",
                    env={"BELLMAN_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "k" * 50


def test_without_the_variable_or_the_file_it_refuses_to_start(tmp_path):
    result = manage("check", env={"BELLMAN_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "set the environment variable DJANGO_SECRET_KEY" in result.stderr


def test_the_variable_wins_over_the_file(tmp_path):
    (tmp_path / "secret_key").write_text("from-the-file")
    result = manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)",
                    env={"BELLMAN_VAR_DIR": str(tmp_path), "DJANGO_SECRET_KEY": "from-the-env"})
    assert result.stdout.strip().splitlines()[-1] == "from-the-env", result.stderr


def test_every_task_the_beat_schedules_is_one_a_worker_registers(settings):
    from server.celery import app

    app.loader.import_default_modules()  # what a worker does at start: the apps' tasks modules
    missing = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] not in app.tasks]
    assert missing == []
