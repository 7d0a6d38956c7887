"""The queue's sweeper (celery beat): nothing waits forever.

A submission 'queued' whose task is in no broker queue (an upload made while Redis was down, a Redis
restarted empty) is sent again; a submission 'running' whose grading run stopped heart-beating (its
worker was killed) goes back to 'queued' and is sent again. Sending twice is harmless: the claim
lets one grading win.
"""
import base64
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from server import metrics
from server.submissions.grading import stale_after
from server.submissions.models import Submission, transition
from server.submissions.services import GRADE_TASK, PRIORITY_NEW, PRIORITY_REGRADE, TRAIN_TASK, task_send, train_send

log = logging.getLogger(__name__)
QUEUED_GRACE = timedelta(seconds=20)  # a task just sent may not be visible in a list yet


@dataclass
class SweepResult:
    resent: list = field(default_factory=list)
    revived: list = field(default_factory=list)  # running, with a worker that stopped heart-beating
    broker_down: bool = False


def _task_and_submission(raw: bytes) -> tuple[str, int] | None:
    """The task name and submission id a grading message carries (kombu's JSON envelope, body in base64)."""
    try:
        message = json.loads(raw)
        if isinstance(message, list):  # the unacked hash holds [message, exchange, routing_key]
            message = message[0]
        task = message.get("headers", {}).get("task")
        if task not in (GRADE_TASK, TRAIN_TASK):
            return None
        body = json.loads(base64.b64decode(message["body"]))
        return task, int(body[0][0])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def broker_submission_ids() -> dict | None:
    """``{task name: ids of the submissions whose task is waiting in the broker, or was taken from it lately}``;
    None when the broker cannot be read."""
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5, socket_connect_timeout=5)
        lists = [k for keys in metrics.queue_keys(client, ("celery", "training")).values() for k in keys]
        raws = [raw for key in lists for raw in client.lrange(key, 0, -1)]
        # Taken by a worker: only recently. A worker claims a grading the moment it gets its message; one taken
        # longer ago than a heartbeat's silence and still unclaimed went to a worker that died holding it (a host
        # killed outright), and waits for the broker's visibility timeout unless it is sent again (claims make a
        # second delivery harmless).
        recent = client.zrangebyscore("unacked_index", time.time() - stale_after().total_seconds(), "+inf")
        raws += [raw for raw in (client.hmget("unacked", recent) if recent else []) if raw]
    except redis.RedisError as exc:
        log.warning("the sweeper cannot read the broker: %s", exc)
        return None
    found = {GRADE_TASK: set(), TRAIN_TASK: set()}
    for item in filter(None, map(_task_and_submission, raws)):
        found[item[0]].add(item[1])
    return found


def submissions_sweep(*, now=None) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    in_broker = broker_submission_ids()
    if in_broker is None:
        result.broker_down = True
        return result
    stale = now - stale_after()
    running = Submission.objects.filter(status=Submission.RUNNING)
    dead = (running.exclude(phase=Submission.TRAINING_QUEUED)
            .filter(Q(current_run__heartbeat_at__lt=stale) | Q(current_run__isnull=True, status_changed_at__lt=stale))
            .values_list("id", flat=True))
    for pk in dead:
        still_dead = Q(current_run__heartbeat_at__lt=stale) | Q(current_run__isnull=True)
        if transition(running.filter(still_dead, pk=pk).exclude(phase=Submission.TRAINING_QUEUED), Submission.QUEUED,
                      phase="", status_changed_at=now):
            result.revived.append(pk)
            log.warning("submission %s: its worker stopped heart-beating; queued again", pk)
    waiting = (running.filter(phase=Submission.TRAINING_QUEUED, status_changed_at__lt=now - QUEUED_GRACE)
               .exclude(pk__in=in_broker[TRAIN_TASK]).values_list("id", "current_run_id"))
    for pk, run_id in waiting:
        if train_send(pk, run_id):
            result.resent.append(pk)
    lost = (Submission.objects.filter(status=Submission.QUEUED, status_changed_at__lt=now - QUEUED_GRACE)
            .exclude(pk__in=in_broker[GRADE_TASK]).values_list("id", flat=True))
    for pk in set(lost) | set(result.revived):
        regrading = Submission.objects.filter(pk=pk, regrade_items__finished_at=None).exists()
        if task_send(pk, priority=PRIORITY_REGRADE if regrading else PRIORITY_NEW):
            result.resent.append(pk)
    if result.resent:
        metrics.count("sweeper_resends", len(result.resent))
    if result.revived:
        metrics.count("sweeper_revived", len(result.revived))
    return result
