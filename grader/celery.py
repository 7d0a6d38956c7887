"""The Celery application. Configuration comes from Django settings (CELERY_*)."""
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
app = Celery("bellman")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["grader", "server.notifications"])


@signals.worker_ready.connect
def sweep_sandboxes(**kwargs):
    """A worker killed mid-grading leaves its containers behind: each worker removes them when it
    starts, then every minute (those of a dead process of this host at once, any at all once older
    than a grading can last)."""
    import threading

    sweep_once()
    timer = threading.Thread(target=_sweep_every, args=(60.0,), name="sandbox-sweeper", daemon=True)
    timer.start()


def _sweep_every(seconds: float):
    import time

    while True:
        time.sleep(seconds)
        sweep_once()


def sweep_once():
    import logging

    from django.conf import settings

    from sandbox import SandboxError, get_backend

    try:
        backend = get_backend(settings.SANDBOX_BACKEND, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
        removed = backend.sweep(older_than_s=settings.CELERY_TASK_TIME_LIMIT + 60)
    except (SandboxError, OSError) as exc:
        logging.getLogger(__name__).warning("no sandbox sweep this time: %s", exc)
        return
    except Exception as exc:  # noqa: BLE001 - the engine answering badly must not stop the sweeper thread
        logging.getLogger(__name__).warning("sandbox sweep failed: %s", exc)
        return
    if removed:
        logging.getLogger(__name__).warning("removed %d sandboxes left by a worker that was killed", removed)
