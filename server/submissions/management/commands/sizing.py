"""manage.py sizing --p95 SECONDS: how many grading hosts a deadline needs, from the measured grading times."""
import json as jsonlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from server.courses.models import Course, Enrolment
from server.submissions import sizing


class Command(BaseCommand):
    help = ("How many grading hosts give 95%% of a deadline's uploads their result within --p95 seconds (a "
            "deadline surge replayed against the course's own median grading times: the last 14 days, measured "
            "defaults before any grading), and clear the gradings waiting now within that time. The figure an "
            "autoscaler wants (docs/deploy.md).")

    def add_arguments(self, parser):
        parser.add_argument("--p95", type=float, required=True, help="seconds from upload to result, for 95%%")
        parser.add_argument("--course", help="the course's slug (default: every course)")
        parser.add_argument("--students", type=int, help="students who will submit (default: the course's)")
        parser.add_argument("--cores-per-host", type=int, default=8)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, p95, course=None, students=None, cores_per_host=8, json=False, **options):
        if p95 <= 0:
            raise CommandError("--p95 must be a number of seconds above 0.")
        courses = Course.objects.filter(slug=course) if course else Course.objects.all()
        if course and not courses.exists():
            raise CommandError(f"No course {course!r}.")
        students = students or Enrolment.objects.filter(course__in=courses, role=Enrolment.STUDENT,
                                                        active=True).values("user").distinct().count() or 400
        assignments = [a for c in courses for a in c.assignments.all()]
        seconds = sizing.measured_seconds(assignments)
        now = sizing.backlog_now(courses.first() if course else None)
        slots = sizing.slots_for(cores_per_host, settings.GRADER_PARALLEL_RUNS)
        answer = sizing.hosts_needed(students=students, seconds=seconds, p95_s=p95, slots_per_host=slots,
                                     backlog=now["waiting"] + now["running"])
        data = {"hosts": answer["hosts"], "hosts_for_backlog": answer["for_backlog"], "p95_target_s": p95,
                "p95_s": answer["p95_s"], "students": students,
                "uploads": answer["uploads"], "grading_seconds": {k: round(v, 1) for k, v in seconds.items()},
                "cores_per_host": cores_per_host, "gradings_per_host": slots, **now}
        if json:
            self.stdout.write(_dumps(data))
            return
        self.stdout.write(f"grading seconds (median, measured): "
                          f"{', '.join(f'{k} {v:.1f}' for k, v in data['grading_seconds'].items())}")
        self.stdout.write(f"{students} students, {answer['uploads']} uploads in the surge; {now['waiting']} waiting "
                          f"and {now['running']} grading now; {slots} gradings at once per {cores_per_host}-core host")
        if answer["hosts"] is None:
            self.stdout.write(f"no number of hosts up to 256 reaches a p95 of {p95:g} s")
        else:
            backlog = f"; {answer['for_backlog']} to clear the gradings waiting now" if answer["for_backlog"] else ""
            self.stdout.write(f"hosts needed: {answer['hosts']} (p95 {answer['p95_s']:g} s, target {p95:g} s{backlog})")


def _dumps(data) -> str:
    return jsonlib.dumps(data, indent=2)
