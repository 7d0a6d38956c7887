"""The Celery application: the Django project's interface to the queue. Configuration comes from Django
settings (CELERY_*); the tasks are in server/submissions/tasks.py and server/notifications/tasks.py."""
import importlib
import logging
import os
import threading
import time

from celery import Celery, signals

from sandbox import SandboxError, get_backend
from server import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
app = Celery("bellman")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["server.submissions", "server.notifications", "server.lti", "server.similarity"])
log = logging.getLogger(__name__)


def send(name: str, args: tuple = (), **options) -> None:
    """Queue the task ``name``; with BELLMAN_TASKS_EAGER (CELERY_TASK_ALWAYS_EAGER), run it here and now instead,
    in this process, as a worker would (``send_task`` ignores that setting): a debugging aid, never for
    production. A task it queues in turn (the training phase, an e-mail) runs here too."""
    from django.conf import settings  # read when a task is sent, never when this module is imported

    if settings.CELERY_TASK_ALWAYS_EAGER:
        importlib.import_module(name.rsplit(".", 1)[0])  # the task's module (a worker imports them at start)
        app.tasks[name].apply(args=args, throw=False)
        return
    app.send_task(name, args=args, **options)


@signals.worker_ready.connect
def beat_for_metrics(sender=None, **kwargs):
    """The worker's heartbeat, which /metrics counts (server/metrics.py)."""
    metrics.worker_beat(getattr(sender, "hostname", None) or "worker")


@signals.worker_ready.connect
def sweep_sandboxes(**kwargs):
    """A worker killed mid-grading leaves its containers behind: each worker removes them when it
    starts, then every minute (those of a dead process of this host at once, any at all once older
    than a grading can last)."""
    sweep_once()
    timer = threading.Thread(target=_sweep_every, args=(60.0,), name="sandbox-sweeper", daemon=True)
    timer.start()


def _sweep_every(seconds: float):
    while True:
        time.sleep(seconds)
        sweep_once()


def live_hosts() -> set[str] | None:
    """The hosts whose workers are heart-beating (server/metrics.py), or None when Redis cannot say: another
    host's sandboxes are then left to the age rule."""
    workers = metrics.live_workers()
    return None if workers is None else set(workers.values())


def sweep_once():
    # Django's settings are read when the worker runs, never when this module is imported.
    from django.conf import settings

    try:
        backend = get_backend(settings.SANDBOX_BACKEND, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
        removed = backend.sweep(older_than_s=settings.CELERY_TASK_TIME_LIMIT + 60, live_hosts=live_hosts())
    except (SandboxError, OSError) as exc:
        log.warning("no sandbox sweep this time: %s", exc)
        return
    except Exception as exc:  # noqa: BLE001 - the engine answering badly must not stop the sweeper thread
        log.warning("sandbox sweep failed: %s", exc)
        return
    if removed:
        log.warning("removed %d sandboxes left by a worker that was killed", removed)
