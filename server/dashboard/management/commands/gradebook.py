"""manage.py gradebook COURSE: the gradebook CSV of /c/<course>/gradebook.csv, on standard output."""
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from grader import assignments as folders
from server.courses.models import Course
from server.dashboard.gradebook import gradebook_csv


class Command(BaseCommand):
    help = "Print a course's gradebook CSV (the same bytes as the page's download)."

    def add_arguments(self, parser):
        parser.add_argument("course", help="the course's slug")

    def handle(self, *args, course, **options):
        found = Course.objects.filter(slug=course).first()
        if found is None:
            raise CommandError(f"no course {course!r}")
        known = folders.registry(settings.BELLMAN_ASSIGNMENTS_DIR)
        text = gradebook_csv(found, folders={a.slug: known.get(a.slug) for a in found.assignments.all()})
        out = getattr(self.stdout, "_out", sys.stdout)
        if hasattr(out, "buffer"):
            out.flush()
            out.buffer.write(text.encode("utf-8"))
            out.buffer.flush()
        else:
            out.write(text)
