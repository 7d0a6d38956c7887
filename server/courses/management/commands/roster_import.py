"""manage.py roster_import COURSE FILE: the roster page's import, from the command line."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from server.courses.models import Course
from server.courses.services import RosterError, roster_import


class Command(BaseCommand):
    help = "Import a roster CSV (username,email,first_name,last_name,role) into a course; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("course", help="the course's slug")
        parser.add_argument("file", help="the CSV file ('-' for standard input)")
        parser.add_argument("--base-url", default="", help="prefix for the set-password links, e.g. https://grader.example.edu")

    def handle(self, *args, course, file, base_url, **options):
        found = Course.objects.filter(slug=course).first()
        if found is None:
            raise CommandError(f"no course {course!r}")
        try:
            data = self.stdin_bytes() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            result = roster_import(course=found, data=data, max_bytes=settings.BELLMAN_MAX_ROSTER_BYTES)
        except RosterError as exc:
            raise CommandError("nothing was imported:\n  " + "\n  ".join(exc.problems)) from None
        self.stdout.write(f"{len(result.created)} created, {len(result.updated)} updated, "
                          f"{result.unchanged} unchanged")
        for user in result.kept:
            self.stdout.write(f"{user.username}: enrolled as it is (an account of another course or staff: "
                              "its e-mail and name were not changed)")
        for user, link in result.created:
            self.stdout.write(f"{user.username}\t{user.email}\t{base_url.rstrip('/')}{link}")

    def stdin_bytes(self):
        import sys

        return sys.stdin.buffer.read()
