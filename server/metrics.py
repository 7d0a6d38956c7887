"""What Bellman's processes keep for the Prometheus metrics (server/scrape.py serves them at /metrics).

Everything is read when Prometheus scrapes, from where the truth is kept, so that every web process answers the
same and nothing is lost when a worker dies: the broker's queue lengths (Redis), the submissions, grading runs,
e-mail and LMS outboxes (the database), and the counters that workers keep in Redis (sandbox start failures, the
sweeper's re-sends) with the workers' own heartbeats (a key per worker that expires when it stops).

This module imports no models: the Celery app imports it before Django's apps are loaded."""
import logging
import socket
import threading
import time

import redis
from django.conf import settings

log = logging.getLogger(__name__)
COUNTERS = "bellman:metrics"       # a Redis hash of counters that workers increment
WORKER_KEY = "bellman:worker:"     # one key per live worker (its host name), refreshed every WORKER_BEAT_S, gone
                                   # when it stops
WORKER_BEAT_S = 10
QUEUES = ("celery", "training", "mail", "lti")
BUCKETS_S = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


def redis_client() -> redis.Redis:
    """The broker's Redis, with short timeouts: a metric never holds up a grading or a scrape."""
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=3, socket_connect_timeout=3)


def count(name: str, by: int = 1) -> None:
    """Add to a counter that every process shares (never raises: a metric is not worth a grading)."""
    try:
        redis_client().hincrby(COUNTERS, name, by)
    except redis.RedisError as exc:
        log.info("metric %s not counted: %s", name, exc)


def queue_keys(client, names=QUEUES) -> dict[str, list]:
    """The broker's lists of each queue: Celery's Redis transport keeps each priority's messages in a list of its
    own ("celery", "celery:3", ...: CELERY_BROKER_TRANSPORT_OPTIONS's separator)."""
    sep = settings.CELERY_BROKER_TRANSPORT_OPTIONS["sep"]
    found = {}
    for name in names:
        keys = [name] + [f"{name}{sep}{p}" for p in range(1, 10)]
        found[name] = [k for k in keys if client.type(k) == b"list"]
    return found


def queue_lengths(client) -> dict[str, int]:
    """Messages waiting per queue, every priority summed."""
    return {name: sum(client.llen(k) for k in keys) for name, keys in queue_keys(client).items()}


def beat_once(client, nodename: str, *, host: str | None = None, ttl_s: int = WORKER_BEAT_S * 3) -> None:
    """The worker ``nodename`` (Celery's worker@name) is alive for ``ttl_s`` more seconds, on the machine ``host``
    (its socket.gethostname() by default: the name its sandboxes are labelled with, whatever --hostname says)."""
    client.set(WORKER_KEY + nodename, host or socket.gethostname(), ex=ttl_s)


def live_workers(client: redis.Redis | None = None) -> dict[str, str] | None:
    """The workers whose heartbeat is fresh, by name (worker@name), each with its machine's host name; None when
    Redis does not answer."""
    try:
        client = client or redis_client()
        names = list(client.scan_iter(match=WORKER_KEY + "*"))
        hosts = client.mget(names) if names else []
    except redis.RedisError:
        return None
    return {name.decode()[len(WORKER_KEY):]: host.decode() for name, host in zip(names, hosts, strict=True)
            if host is not None}


def worker_beat(hostname: str) -> threading.Thread:
    """A worker's heartbeat for the metrics (started when it is ready, server/celery.py)."""
    def beat():
        client = redis_client()  # one connection pool for the worker's life (redis-py reconnects by itself)
        while True:
            try:
                beat_once(client, hostname)
            except redis.RedisError as exc:
                log.info("worker heartbeat not written: %s", exc)
            time.sleep(WORKER_BEAT_S)

    thread = threading.Thread(target=beat, name="metrics-heartbeat", daemon=True)
    thread.start()
    return thread
