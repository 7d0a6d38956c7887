"""The similarity page in headless Chromium, with a real Redis and Celery worker: the instructor asks for a
comparison, the task runs on the worker, the disguised copy is the top pair, its shared fragments are
highlighted and numbered side by side, and a dismissed pair stays dismissed in the next comparison."""
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from server.courses.models import Assignment, Course, Enrolment
from server.similarity.models import Run
from tests.server.factories import student
from tests.server.test_instructor_flow import by_id, click
from tests.server.test_similarity import SLUG, disguised, handed_in, solution
from tests.server.test_web_flow import log_in

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def compared(browser, base, runs_before: int, timeout=120):
    """Click "Compare now" and reload the page until the worker's run is done."""
    click(browser, "run-now", until="queued")
    deadline = time.monotonic() + timeout
    while Run.objects.filter(state=Run.DONE).count() <= runs_before:
        if time.monotonic() > deadline:
            pytest.fail("the worker never finished the comparison (see var/test/worker.log)")
        time.sleep(0.5)
    browser.get(f"{base}/c/rl/{SLUG}/similarity/")


def test_an_instructor_finds_the_copy_reads_it_side_by_side_and_dismisses_it(live_server, celery_worker, browser):
    from selenium.webdriver.common.by import By

    course = Course.objects.create(slug="rl", title="Reinforcement Learning")
    assignment = Assignment.objects.create(course=course, slug=SLUG, title="REINFORCE",
                                           due_at=timezone.now() - timedelta(days=1))
    irene = get_user_model().objects.create_user(username="irene", password="pw-irene-123")
    Enrolment.objects.create(course=course, user=irene, role=Enrolment.INSTRUCTOR)
    for index, name in enumerate(["s01", "s02", "s05", "s08", "s09"]):
        handed_in(assignment, student(course, f"student{index + 1}"), solution(name))
    handed_in(assignment, student(course, "copier"), disguised(solution("s09")))

    log_in(browser, live_server.url, "irene")
    browser.get(f"{live_server.url}/c/rl/{SLUG}/similarity/")
    compared(browser, live_server.url, 0)
    top = browser.find_element(By.CSS_SELECTOR, "#pairs tbody tr")
    assert {top.get_attribute("data-a"), top.get_attribute("data-b")} == {"student5", "copier"}
    assert "flag" in top.get_attribute("class")

    top.find_element(By.TAG_NAME, "a").click()
    shared_a = browser.find_elements(By.CSS_SELECTOR, "#side-a .line.shared")
    shared_b = browser.find_elements(By.CSS_SELECTOR, "#side-b .line.shared")
    numbers = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#side-a .fragment-no")}
    assert len(shared_a) > 5
    assert len(shared_b) > 5
    assert "1" in {n.split(",")[0] for n in numbers}
    by_id(browser, "note").send_keys("same study group, explained in office hours")
    click(browser, "decide-dismissed", until="Pair dismissed")

    browser.get(f"{live_server.url}/c/rl/{SLUG}/similarity/")
    compared(browser, live_server.url, 1)  # a new comparison: the decision is the pair's, not the run's
    top = browser.find_element(By.CSS_SELECTOR, "#pairs tbody tr")
    assert top.find_element(By.CSS_SELECTOR, ".decision").text == "dismissed"
