"""/metrics: Bellman's Prometheus metrics (prometheus_client's collectors and exposition; docs/deploy.md), read at
each scrape from where the truth is kept (server/metrics.py says what the processes keep in Redis), so that every
web process answers the same. Not public: a staff member's session, or ``Authorization: Bearer
<BELLMAN_METRICS_TOKEN>``."""
import hmac
import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from server import metrics
from server.lti.models import GradeSend
from server.notifications.models import Message
from server.submissions.models import GradingRun, Submission

log = logging.getLogger(__name__)


def _histogram(name: str, documentation: str, rows) -> HistogramMetricFamily:
    """A histogram per assignment from (assignment label, [count per bucket], count, sum) rows."""
    family = HistogramMetricFamily(name, documentation, labels=["assignment"])
    for label, cumulative, total, seconds in rows:
        buckets = [(str(float(b)), c) for b, c in zip(metrics.BUCKETS_S, cumulative, strict=True)] + [("+Inf", total)]
        family.add_metric([label], buckets, seconds)
    return family


def _duration_rows(runs, start, end):
    """Per assignment: how many runs took at most each bucket, how many in all, and their seconds summed, counted
    by the database."""
    took = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    buckets = {f"b{i}": Count("id", filter=Q(took__lte=timedelta(seconds=b))) for i, b in enumerate(metrics.BUCKETS_S)}
    rows = (runs.annotate(took=took).values("submission__assignment__course__slug", "submission__assignment__slug")
            .annotate(n=Count("id"), total=Sum("took"), **buckets))
    for row in rows:
        label = f"{row['submission__assignment__course__slug']}/{row['submission__assignment__slug']}"
        total = row["total"]
        seconds = total.total_seconds() if isinstance(total, timedelta) else float(total or 0) / 1e6
        yield label, [row[f"b{i}"] for i in range(len(metrics.BUCKETS_S))], row["n"], seconds


class BellmanCollector:
    def collect(self):
        try:
            client = metrics.redis_client()
            lengths = metrics.queue_lengths(client)
            counters = {k.decode(): int(v) for k, v in client.hgetall(metrics.COUNTERS).items()}
            workers = metrics.live_workers(client) or {}
            broker_up = 1
        except redis.RedisError as exc:
            log.warning("metrics: the broker cannot be read: %s", exc)
            lengths, counters, workers, broker_up = {}, {}, {}, 0
        yield GaugeMetricFamily("bellman_broker_up", "Whether the broker (Redis) answered this scrape.",
                                value=broker_up)
        queue = GaugeMetricFamily("bellman_queue_length", "Messages waiting in the broker, per queue.",
                                  labels=["queue"])
        for name, length in lengths.items():
            queue.add_metric([name], length)
        yield queue
        yield GaugeMetricFamily("bellman_workers_alive", "Celery workers whose heartbeat is fresh.",
                                value=len(workers))
        alive = GaugeMetricFamily("bellman_worker_alive", "1 for each live worker, by its name (worker@host).",
                                  labels=["worker"])
        for worker in sorted(workers):
            alive.add_metric([worker], 1)
        yield alive

        submissions = GaugeMetricFamily("bellman_submissions", "Submissions by assignment and status.",
                                        labels=["assignment", "status"])
        for course, slug, status, n in (Submission.objects.values_list("assignment__course__slug", "assignment__slug",
                                                                       "status").annotate(n=Count("id"))
                                        .order_by("assignment__course__slug", "assignment__slug", "status")):
            submissions.add_metric([f"{course}/{slug}", status], n)
        yield submissions

        outcomes = CounterMetricFamily("bellman_gradings", "Grading runs finished, by outcome.", labels=["outcome"])
        for outcome, n in (GradingRun.objects.exclude(outcome="").values_list("outcome").annotate(n=Count("id"))
                           .order_by("outcome")):
            outcomes.add_metric([outcome], n)
        yield outcomes

        finished = GradingRun.objects.filter(finished_at__isnull=False)
        yield _histogram("bellman_grading_duration_seconds", "Seconds a grading run took, per assignment.",
                         _duration_rows(finished, "started_at", "finished_at"))
        first = GradingRun.objects.filter(attempt=1, regrade__isnull=True)
        yield _histogram("bellman_grading_wait_seconds",
                         "Seconds from an upload to the start of its grading, per assignment.",
                         _duration_rows(first, "submission__created_at", "started_at"))

        yield CounterMetricFamily("bellman_sandbox_start_failures", "Sandboxes that could not be started.",
                                  value=counters.get("sandbox_start_failures", 0))
        yield CounterMetricFamily("bellman_sweeper_resends", "Submissions the sweeper sent to the broker again.",
                                  value=counters.get("sweeper_resends", 0))
        yield CounterMetricFamily("bellman_sweeper_revived",
                                  "Gradings the sweeper took back from a worker that stopped heart-beating.",
                                  value=counters.get("sweeper_revived", 0))
        mail = GaugeMetricFamily("bellman_mail_outbox", "E-mails in the outbox, by state.", labels=["state"])
        for state, n in Message.objects.values_list("state").annotate(n=Count("id")).order_by("state"):
            mail.add_metric([state], n)
        yield mail
        grades = GaugeMetricFamily("bellman_lms_grades", "Grades for LMS gradebooks, by state.", labels=["state"])
        for state, n in GradeSend.objects.values_list("state").annotate(n=Count("id")).order_by("state"):
            grades.add_metric([state], n)
        yield grades


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(BellmanCollector())


def _allowed(request) -> bool:
    token = settings.BELLMAN_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)


@never_cache
def metrics_view(request):
    if not _allowed(request):
        return HttpResponseForbidden("Metrics are for Bellman's staff, or a scraper with BELLMAN_METRICS_TOKEN.",
                                     content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
