"""python manage.py demo_course [--submit FILE --wait SECONDS]: the demo course, and a graded demo submission."""
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from grader import assignments
from server.courses.services import demo_course_create
from server.submissions.models import Submission
from server.submissions.services import submission_create


class Command(BaseCommand):
    help = "Create the demo course with an instructor and two students; optionally grade a demo submission."

    def add_arguments(self, parser):
        parser.add_argument("--submit", help="a file to submit as the student 'alice'")
        parser.add_argument("--wait", type=int, default=0, help="seconds to wait for the grade")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--mail-dir", help="where the local SMTP sink writes messages: wait for the e-mail there")

    def handle(self, *args, submit=None, wait=0, base_url="", mail_dir=None, **options):
        found = assignments.registry(settings.BELLMAN_ASSIGNMENTS_DIR)
        demo = demo_course_create(assignments=[(slug, a.title) for slug, a in found.items()])
        self.stdout.write(f"Demo course '{demo['course'].title}' at {base_url}/  (log in with one of these)")
        for username, password in demo["passwords"].items():
            self.stdout.write(f"    {username:12} password: {password}")
        course_url = f"{base_url}{demo['course'].get_absolute_url()}"
        self.stdout.write(f"Course page: {course_url}  (as instructor: dashboards, settings, roster, gradebook)")
        if not submit:
            return
        path = Path(submit)
        assignment = demo["course"].assignments.get(slug=path.parent.parent.name)
        student = get_user_model().objects.get(username="alice")
        submission = submission_create(assignment=assignment, student=student, filename=path.name,
                                       data=path.read_bytes())
        self.stdout.write(f"Submitted {path.name} as alice for {assignment.slug}: submission {submission.pk}")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            submission.refresh_from_db()
            if not submission.is_pending:
                break
            time.sleep(0.5)
        url = f"{base_url}{submission.get_absolute_url()}"
        if submission.status == Submission.GRADED:
            self.stdout.write(self.style.SUCCESS(
                f"Graded: {submission.score:g} / {submission.max_score:g}. Results: {url}"))
            if mail_dir:
                self.stdout.write(self._mail_found(submission, Path(mail_dir), wait=30))
        elif submission.is_pending:
            raise CommandError(f"not graded after {wait}s (status {submission.status}); is the worker running? {url}")
        else:
            raise CommandError(f"grading failed: {submission.error} {url}")

    @staticmethod
    def _mail_found(submission, folder: Path, *, wait: int) -> str:
        """Where the feedback e-mail of ``submission`` landed in the sink's folder."""
        marker = f"/submissions/{submission.pk}/".encode()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for path in sorted(folder.glob("*.eml")):
                if marker in path.read_bytes():
                    return f"The feedback e-mail to {submission.student.email}: {path}"
            time.sleep(0.5)
        return f"No feedback e-mail in {folder} after {wait}s; see the outbox in the admin (Messages)."
