"""BELLMAN_TASKS_EAGER=true (Celery's task_always_eager) runs the tasks inside the web process, as .env.example
says: an upload is graded, both phases, with no worker and no broker."""
import pytest

from server.submissions.models import Submission
from tests.conftest import EXAMPLES
from tests.server.test_submit import upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager(settings):
    settings.SANDBOX_BACKEND = "bwrap"
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def graded(eager, client, alice, assignment):
    client.force_login(alice)
    upload(client, assignment, "passes_all.py", (EXAMPLES / "passes_all.py").read_bytes())
    return Submission.objects.get(student=alice, assignment=assignment)


@pytest.mark.bwrap
def test_an_upload_is_graded_in_the_web_process(graded):
    assert graded.status == Submission.GRADED, (graded.status, graded.error)


@pytest.mark.bwrap
def test_both_phases_ran(graded):
    checks = {c["id"]: c["status"] for c in graded.report["checks"]}
    assert checks == {"epsilon_greedy": "passed", "q_update": "passed", "learning_curve": "passed"}
