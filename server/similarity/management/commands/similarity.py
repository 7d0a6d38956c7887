"""manage.py similarity COURSE SLUG [--json]: compare the assignment's submissions now and print the pairs."""
import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from server.courses.models import Assignment
from server.similarity import services
from server.similarity.models import Run


class Command(BaseCommand):
    help = ("Compare the submissions that count of an assignment (and its references) now, and print the pairs, "
            "most similar first. --json prints {engine, pairs: [{a, b, similarity, overlap, longest, flagged}]}.")

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("slug")
        parser.add_argument("--json", action="store_true", help="print JSON (fields in DESIGN.md)")
        parser.add_argument("--latest", action="store_true", help="print the latest run's pairs, compare nothing")

    def handle(self, *args, course, slug, json=False, latest=False, **options):
        assignment = Assignment.objects.filter(course__slug=course, slug=slug).first()
        if assignment is None:
            raise CommandError(f"No assignment {slug!r} in the course {course!r}.")
        if latest:
            run = services.latest(assignment)
        else:
            run = services.execute(Run.objects.create(assignment=assignment))
        data = services.as_json(run)
        if json:
            self.stdout.write(_dumps(data))
            return
        if run is None:
            self.stdout.write("No comparison has run yet.")
            return
        self.stdout.write(f"{data['engine']}: {run.submissions} submissions, {run.pairs_compared} pairs compared, "
                          f"{len(data['pairs'])} sharing code, {sum(p['flagged'] for p in data['pairs'])} flagged")
        for pair in data["pairs"]:
            self.stdout.write(f"{pair['similarity']:6.2f}  {pair['overlap']:5d} tokens  longest {pair['longest']:4d}"
                              f"  {'FLAG' if pair['flagged'] else '    '}  {pair['a']}  {pair['b']}")


def _dumps(data) -> str:
    return jsonlib.dumps(data, indent=2)
