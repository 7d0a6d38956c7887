"""How many grading hosts a deadline needs: a deadline surge replayed against N worker slots (first come, first
served), with each assignment's measured grading time. bench/capacity.py prints it for a range of core counts;
``manage.py sizing`` answers for a course from the database's own grading times and the queue now.

The surge: each student submits one to three times; 15% of the uploads spread over the last three days, 60% in
the last hours (exponential, mean 3 h before the deadline), 25% in a spike over the last ten minutes."""
import heapq
import math
import random
import statistics
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from server.submissions.models import GradingRun, Submission

# Whole gradings on a 2-core machine (bench/grading.py --compare-only, runs stopped when their verdict is known):
# the mean of each assignment's reference and its typical broken submission; used where nothing was measured yet.
DEFAULT_SECONDS = {"qlearning-cliffwalking": 1.7, "dqn-cartpole": 12.0, "reinforce-cartpole": 11.2}


def arrivals(students: int, rng: random.Random) -> list[float]:
    """Upload times in seconds before the deadline (negative), sorted."""
    times = []
    for _ in range(students):
        for _ in range(rng.choice((1, 1, 2, 3))):
            kind = rng.random()
            if kind < 0.15:
                times.append(-rng.uniform(0, 72 * 3600))
            elif kind < 0.75:
                times.append(-min(72 * 3600, rng.expovariate(1 / (3 * 3600))))
            else:
                times.append(-rng.uniform(0, 600))
    return sorted(times)


def simulate(times: list[float], seconds: dict, slots: int, rng: random.Random) -> list[tuple[float, float]]:
    """(arrival, upload-to-result seconds) of each upload, graded FIFO by ``slots`` workers."""
    free = [times[0]] * slots
    heapq.heapify(free)
    names = list(seconds)
    out = []
    for arrival in times:
        duration = seconds[rng.choice(names)] * rng.uniform(0.8, 1.2)
        start = max(arrival, heapq.heappop(free))
        heapq.heappush(free, start + duration)
        out.append((arrival, start + duration - arrival))
    return out


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def measured_seconds(assignments, *, days: int = 14) -> dict[str, float]:
    """Each assignment's median grading seconds (all of a submission's runs, both phases), over the last
    ``days``; the defaults where none was graded."""
    since = timezone.now() - timedelta(days=days)
    found = {}
    for assignment in assignments:
        rows = (GradingRun.objects.filter(submission__assignment=assignment, finished_at__gte=since)
                .exclude(outcome="superseded").values_list("submission_id", "started_at", "finished_at"))
        totals: dict[int, float] = {}
        for submission_id, started, finished in rows:
            totals[submission_id] = totals.get(submission_id, 0.0) + (finished - started).total_seconds()
        graded = set(Submission.objects.filter(pk__in=list(totals), status=Submission.GRADED)
                     .values_list("pk", flat=True))
        per_submission = [t for pk, t in totals.items() if pk in graded] or list(totals.values())
        if per_submission:
            found[assignment.slug] = statistics.median(per_submission)
        elif assignment.slug in DEFAULT_SECONDS:
            found[assignment.slug] = DEFAULT_SECONDS[assignment.slug]
    return found or dict(DEFAULT_SECONDS)


def hosts_needed(*, students: int, seconds: dict, p95_s: float, slots_per_host: int, backlog: int = 0,
                 max_hosts: int = 256, seed: int = 0) -> dict:
    """The fewest hosts whose slots give 95% of a deadline's uploads their result within ``p95_s``, and enough to
    clear the ``backlog`` of gradings waiting now within ``p95_s`` (the figure an autoscaler acts on between
    deadlines); with the p95 and the last upload's wait that count reaches."""
    mean_s = statistics.mean(seconds.values())
    for_backlog = math.ceil(backlog * mean_s / (p95_s * slots_per_host)) if backlog else 0
    times = arrivals(students, random.Random(seed))
    for hosts in range(max(1, for_backlog), max_hosts + 1):
        results = simulate(times, seconds, hosts * slots_per_host, random.Random(seed + 1))
        waits = [w for _, w in results]
        p95 = percentile(waits, 95)
        if p95 <= p95_s:
            return {"hosts": hosts, "for_backlog": for_backlog, "p95_s": round(p95, 1), "uploads": len(times),
                    "last_result_s": round(max(t + w for t, w in results), 1)}
    return {"hosts": None, "for_backlog": for_backlog, "p95_s": None, "uploads": len(times), "last_result_s": None}


def backlog_now(course=None) -> dict:
    """Gradings waiting and running now (the queue an autoscaler also reads)."""
    states = Submission.objects.filter(assignment__course=course) if course is not None else Submission.objects
    counts = states.aggregate(waiting=Count("id", filter=Q(status__in=[Submission.QUEUED, Submission.RECEIVED])),
                              running=Count("id", filter=Q(status=Submission.RUNNING)))
    return counts


def slots_for(cores_per_host: int, cores_per_grading: int) -> int:
    return max(1, math.floor(cores_per_host / max(1, cores_per_grading)))
