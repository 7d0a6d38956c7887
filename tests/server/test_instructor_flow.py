"""An instructor runs a course in the browser, with a real Redis, a real Celery worker and sandboxes:
roster, settings with a hidden check, submissions graded and a named mistake counted, an extension, a
regrade after a changed threshold, the gradebook read back; a student sees the hidden check hidden
before the due date and revealed after it."""
import csv
import io
import os
import shutil
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import EXAMPLES, ROOT
from tests.server.test_web_flow import log_in

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROSTER = ("username,email,first_name,last_name,role\n"
          "sam,sam@uni.example,Sam,Okafor,student\n"
          "tess,tess@uni.example,Tess,Dubois,student\n")
SLUG = "qlearning-cliffwalking"


@pytest.fixture
def assignments_copy(tmp_path, settings):
    """The assignment folders copied where the test may edit a spec; the worker reads the copy."""
    root = tmp_path / "assignments"
    shutil.copytree(ROOT / "assignments" / SLUG, root / SLUG)
    settings.BELLMAN_ASSIGNMENTS_DIR = root
    os.environ["BELLMAN_ASSIGNMENTS_DIR"] = str(root)
    yield root
    os.environ.pop("BELLMAN_ASSIGNMENTS_DIR", None)


@pytest.fixture
def celery_worker(assignments_copy, celery_worker):
    return celery_worker  # started after the copy, so that it grades from it


def by_id(browser, element_id):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, element_id)


def click(browser, element_id, *, until: str):
    """Click a form's button and wait for the page that follows (not the one clicked on, which may say the
    same words) to say ``until``. The old page is marked in its window object, which a new page does not
    have; while the browser is between the two, a query can fail, and is asked again."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def arrived(b):
        try:
            return b.execute_script("return window.bellmanClickedHere === undefined") and until in b.page_source
        except WebDriverException:
            return False

    browser.execute_script("window.bellmanClickedHere = true")
    by_id(browser, element_id).click()
    WebDriverWait(browser, 30).until(arrived, message=f"no new page saying {until!r} after {element_id}")


def set_value(browser, element_id, value):
    """Date inputs take their value from script: typing into one depends on the browser's locale."""
    browser.execute_script("document.getElementById(arguments[0]).value = arguments[1]", element_id, value)


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def wait_graded(*submissions, timeout=240):
    from server.submissions.models import Submission

    ids = [s.pk for s in submissions]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True))
        if states <= {"graded", "error"}:
            return
        time.sleep(1)
    pytest.fail("not graded in time; see var/test/worker.log")


def save_settings(browser, base, **values):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{base}/c/rl/{SLUG}/settings/")
    for name, value in values.items():
        if name in ("due_at", "late_until", "opens_at"):
            set_value(browser, f"id_{name}", value)
        elif name == "late_policy":
            Select(by_id(browser, "id_late_policy")).select_by_value(value)
        elif name == "hidden":
            for box in browser.find_elements(By.CSS_SELECTOR, "input[name=hidden_checks]"):
                if (box.get_attribute("value") in value) != box.is_selected():
                    box.click()
        else:
            field = by_id(browser, f"id_{name}")
            field.clear()
            field.send_keys(value)
    click(browser, "save-settings", until="Settings saved.")


def test_an_instructor_runs_the_course(live_server, celery_worker, browser, irene, course, assignments_copy):
    from selenium.webdriver.common.by import By

    from server.courses.models import Assignment
    from server.submissions.models import Submission
    from server.submissions.services import submission_create

    base = live_server.url
    assignment = Assignment.objects.get(slug=SLUG)
    log_in(browser, base, "irene")

    # The roster, imported on the page; each new account gets a set-password link.
    browser.get(f"{base}/c/rl/")
    by_id(browser, "roster-link").click()
    roster = assignments_copy.parent / "roster.csv"
    roster.write_text(ROSTER)
    by_id(browser, "id_file").send_keys(str(roster))
    click(browser, "import-roster", until="roster-result")
    assert "2 new accounts" in by_id(browser, "roster-result").text
    links = {row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[2].text
             for row in browser.find_elements(By.CSS_SELECTOR, "#password-links tbody tr")}

    # A due date tomorrow, 10% per day late, and q_update hidden until then.
    due = timezone.now() + timedelta(days=1)
    save_settings(browser, base, due_at=local(due), late_policy="penalty", late_penalty_percent="10",
                  hidden=["q_update"])

    # Sam sets a password from the link and submits a q_update without the learning rate.
    browser.delete_all_cookies()
    browser.get(links["sam"])
    by_id(browser, "id_new_password1").send_keys("sams-long-passphrase-1")
    by_id(browser, "id_new_password2").send_keys("sams-long-passphrase-1")
    click(browser, "set-password", until="Password set")
    log_in(browser, base, "sam", "sams-long-passphrase-1")
    browser.get(f"{base}/c/rl/{SLUG}/")
    assert "hidden until the due date" in browser.page_source
    by_id(browser, "id_file").send_keys(str(EXAMPLES / "wrong_no_learning_rate.py"))
    click(browser, "submit", until="<h1>Submission ")
    sams = Submission.objects.get(student__username="sam")
    tess = submission_create(assignment=assignment, student=sams.student.__class__.objects.get(username="tess"),
                             filename="solution.py", data=(EXAMPLES / "passes_all.py").read_bytes())
    wait_graded(sams, tess)
    sams.refresh_from_db()
    assert sams.status == "graded"

    # Before the due date Sam sees that q_update exists and its points, not its result.
    browser.get(base + sams.get_absolute_url())
    assert by_id(browser, "check-q_update").text.startswith("q_update hidden ? / 30")
    assert "learning rate" not in by_id(browser, "check-q_update").text

    # The instructor's dashboard counts the named mistake.
    browser.delete_all_cookies()
    log_in(browser, base, "irene")
    browser.get(f"{base}/c/rl/{SLUG}/dashboard/")
    assert by_id(browser, "mistake-alpha_missing").get_attribute("data-now") == "1"
    assert by_id(browser, "submitted").text.startswith("2 of 2 students submitted")
    assert browser.execute_script("return Chart.getChart(document.getElementById('chart-scores')) !== undefined")

    # An extension for Tess.
    browser.get(f"{base}/c/rl/{SLUG}/settings/")
    by_id(browser, "id_username").send_keys("tess")
    set_value(browser, "id_ext_due_at", local(due + timedelta(days=2)))
    click(browser, "grant-extension", until="tess now has until")

    # A threshold no CliffWalking policy reaches (-13 is optimal), then a regrade: every learning curve
    # that passed now fails, and the dashboard names whom it affected.
    spec = assignments_copy / SLUG / "spec.toml"
    spec.write_text(spec.read_text().replace("threshold = -17.0", "threshold = -12.0"))
    browser.get(f"{base}/c/rl/{SLUG}/dashboard/")
    click(browser, "regrade-all", until="Regrading 2 submissions")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        browser.get(f"{base}/c/rl/{SLUG}/dashboard/")
        progress = browser.find_element(By.CSS_SELECTOR, ".regrade")
        if progress.get_attribute("data-done") == progress.get_attribute("data-total"):
            break
        time.sleep(2)
    changed = browser.find_element(By.CSS_SELECTOR, ".regrade .changed li[data-student=tess]").text
    assert "100.0 → 60.0" in changed

    # The gradebook, downloaded with the instructor's session and read back.
    text = browser.execute_async_script(
        "const done = arguments[0]; fetch('/c/rl/gradebook.csv').then(r => r.text()).then(done)")
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))}
    assert (rows["tess"][SLUG], rows["tess"][f"{SLUG}_late_days"]) == ("60", "0")

    # Once the due date has passed, Sam sees q_update's result.
    save_settings(browser, base, due_at=local(timezone.now() - timedelta(minutes=5)))
    browser.delete_all_cookies()
    log_in(browser, base, "sam", "sams-long-passphrase-1")
    browser.get(base + sams.get_absolute_url())
    assert "failed" in by_id(browser, "check-q_update").text
