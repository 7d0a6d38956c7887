"""The Celery application. Configuration comes from Django settings (CELERY_*)."""
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
app = Celery("bellman")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["grader", "server.notifications"])


@signals.worker_ready.connect
def sweep_sandboxes(**kwargs):
    """A worker killed mid-grading leaves its containers behind: the next worker start removes them."""
    import logging

    from django.conf import settings

    from sandbox import SandboxError, get_backend

    try:
        backend = get_backend(settings.SANDBOX_BACKEND, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
        removed = backend.sweep(older_than_s=settings.CELERY_TASK_TIME_LIMIT + 60)
    except SandboxError as exc:
        logging.getLogger(__name__).warning("no sandbox backend available yet: %s", exc)
        return
    if removed:
        logging.getLogger(__name__).warning("removed %d sandboxes left by an earlier worker", removed)
