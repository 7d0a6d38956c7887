"""python manage.py grade SLUG FILE [--json] [--backend docker|bwrap] [--only CHECK,...]

Grades one file synchronously through the same pipeline as the web. Exit status: 0 when a
report was produced (whatever the score), 2 for usage errors, 1 when grading failed.
"""
import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import grader
from grader import assignments
from grader.errors import AssignmentError, InfrastructureError
from grader.report import ERROR
from server.submissions.services import grading_config


class Command(BaseCommand):
    help = "Grade one file for one assignment and print the report."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="assignment slug, e.g. qlearning-cliffwalking")
        parser.add_argument("file", help="a .py or .ipynb file")
        parser.add_argument("--json", action="store_true", help="print only the report as JSON")
        parser.add_argument("--backend", choices=["docker", "bwrap"], help="sandbox backend (default: SANDBOX_BACKEND)")
        parser.add_argument("--only", default="", help="comma-separated check ids to run (default: all)")

    def handle(self, *args, slug, file, json: bool = False, backend=None, only="", **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file", returncode=2)
        try:
            folder = assignments.get(slug, settings.BELLMAN_ASSIGNMENTS_DIR)
            report = grader.grade(folder, path, grading_config(backend=backend), only=[c for c in only.split(",") if c])
        except AssignmentError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except InfrastructureError as exc:
            raise CommandError(f"grading failed: {exc}", returncode=1) from None
        if json:
            self.stdout.write(_dumps(report.to_dict()))
        else:
            self._summary(report)
        if report.status == ERROR:
            sys.exit(1)

    def _summary(self, report):
        w = self.stdout.write
        if report.status == ERROR:
            w(f"{report.assignment}: not graded: {report.error}")
            return
        w(f"{report.assignment}: {report.score:g} / {report.max_score:g}")
        for notice in report.notices:
            w(f"  note: {notice}")
        for check in report.checks:
            w(f"  [{check.status:6}] {check.id}: {check.score:g} / {check.max_score:g}")
            for line in check.feedback.splitlines():
                w(f"      {line}")
        if report.output_tail.strip():
            w("  output (last lines):")
            for line in report.output_tail.strip().splitlines()[-10:]:
                w(f"      {line}")


def _dumps(data):
    return json.dumps(data, indent=2)
