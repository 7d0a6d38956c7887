"""The sweeper and a grading message that a worker took and never started (its host killed outright): sent
again once it has been held longer than a heartbeat's silence, not before; on a real Redis."""
import json
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from server.submissions import services
from server.submissions.grading import stale_after
from server.submissions.models import Submission
from server.submissions.sweeper import submissions_sweep
from tests.conftest import broker_use
from tests.server.factories import graded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(redis_url, settings):
    previous = broker_use(redis_url, settings)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    broker_use(previous, settings)


def taken_by_a_worker(client, submission, *, seconds_ago: float) -> None:
    """What kombu does when a worker takes the message (acks_late): out of the list, into `unacked`."""
    assert services.task_send(submission.pk)
    raw = client.rpop("celery")
    tag = json.loads(raw)["properties"]["delivery_tag"]
    client.hset("unacked", tag, json.dumps([json.loads(raw), "", "celery"]))
    client.zadd("unacked_index", {tag: time.time() - seconds_ago})


def queued_a_while(assignment, student):
    submission = graded(assignment, student, score=0, at=timezone.now(), status=Submission.QUEUED)
    Submission.objects.filter(pk=submission.pk).update(status_changed_at=timezone.now() - timedelta(minutes=5))
    return submission


def test_a_message_held_by_a_dead_worker_is_sent_again(broker, assignment, alice):
    submission = queued_a_while(assignment, alice)
    taken_by_a_worker(broker, submission, seconds_ago=stale_after().total_seconds() + 30)
    assert submissions_sweep().resent == [submission.pk]


def test_a_message_a_worker_just_took_is_left_to_it(broker, assignment, alice):
    submission = queued_a_while(assignment, alice)
    taken_by_a_worker(broker, submission, seconds_ago=1)
    assert submissions_sweep().resent == []
