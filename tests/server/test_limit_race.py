"""Two uploads of one student at the same moment: the submission limit still holds (PostgreSQL, as production
runs; `make test` runs this file in its PostgreSQL pass only)."""
import threading

import pytest
from django.db import connection, transaction

from grader.errors import SubmissionRejected
from server.submissions import services
from server.submissions.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_uploads_at_once_cannot_both_pass_the_limit(assignment, alice, monkeypatch):
    assert connection.vendor == "postgresql", "run on PostgreSQL (make test's first pass)"
    assignment.submission_limit, assignment.limit_window_hours = 1, 24
    assignment.save()
    monkeypatch.setattr(services, "task_send", lambda *args, **kwargs: True)
    first_stored, release = threading.Event(), threading.Event()
    outcome = {}

    def first():
        with transaction.atomic():
            services.submission_create(assignment=assignment, student=alice, filename="a.py", data=b"x = 1\n")
            first_stored.set()
            release.wait(30)  # still uncommitted while the second upload comes in
        connection.close()

    def second():
        first_stored.wait(30)
        try:
            services.submission_create(assignment=assignment, student=alice, filename="b.py", data=b"x = 2\n")
            outcome["second"] = "stored"
        except SubmissionRejected as exc:
            outcome["second"] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_stored.wait(30)
    threading.Timer(1.0, release.set).start()  # the second upload waits for the first to commit (or not)
    for thread in threads:
        thread.join(60)
    assert Submission.objects.filter(student=alice).count() == 1
    assert outcome["second"] != "stored"
