"""Every page a student or an instructor uses passes axe-core's WCAG 2.1 A and AA rules in a real browser (axe-core
from npm, tests/browser, injected by the test), every chart has its numbers in a table, and the forms work with
the keyboard alone."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import ROOT
from tests.server.factories import graded, student
from tests.server.test_web_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(result => done(result.violations.map(v => ({id: v.id, impact: v.impact,
                                                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))))
  .catch(error => done([{id: "axe-error", impact: String(error), nodes: []}]));
"""
CURVES = [{"label": f"run {i}", "episode_returns": [-100.0 + 5 * t + i for t in range(20)]} for i in range(1, 4)]
CHECKS = [("epsilon_greedy", "passed", 30, 30, {}), ("q_update", "failed", 0, 30, {"mistake": "alpha_missing"}),
          ("learning_curve", "passed", 40, 40, {"metric": "greedy return", "value": -13.0, "threshold": -17.0})]


def violations(browser) -> list:
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run `make setup` (npm ci --prefix tests/browser)")
    browser.set_script_timeout(60)
    browser.execute_script(AXE.read_text())
    return browser.execute_async_script(RUN_AXE, WCAG)


@pytest.fixture
def world(course, alice, irene, assignment):
    """A course as a term leaves it: graded code submissions with curves, a written one reviewed, students."""
    from server.submissions.grading import submission_grade
    from server.submissions.models import Submission
    from server.submissions.services import submission_create

    now = timezone.now()
    mine = graded(assignment, alice, score=70, at=now - timedelta(hours=2), checks=CHECKS, curves=CURVES)
    for i in range(4):
        graded(assignment, student(course, f"s{i}"), score=40 + 15 * i, at=now - timedelta(hours=i), checks=CHECKS,
               curves=CURVES)
    synthesis = course.assignments.create(slug="synthesis-unit6", title="Unit 6 synthesis")
    reference = (ROOT / "assignments/synthesis-unit6/reference.md").read_bytes()
    written = submission_create(assignment=synthesis, student=alice, filename="answers.md", data=reference)
    assert submission_grade(submission_id=written.pk) == Submission.GRADED
    return {"code": assignment, "written": synthesis, "mine": mine, "written_submission": written}


def pages(world, role):
    code, written = world["code"], world["written"]
    c = code.course.slug
    common = [reverse("home"), reverse("course", args=[c]), reverse("assignment", args=[c, code.slug]),
              reverse("assignment", args=[c, written.slug]), reverse("api_tokens"), reverse("mail_preferences")]
    if role == "student":
        return common + [world["mine"].get_absolute_url(), world["written_submission"].get_absolute_url()]
    return common + [reverse("dashboard", args=[c, code.slug]), reverse("assignment_settings", args=[c, code.slug]),
                     reverse("roster", args=[c]), reverse("review_queue", args=[c, written.slug]),
                     reverse("review_submission", args=[world["written_submission"].pk]),
                     world["mine"].get_absolute_url()]


def audit(browser, base, urls) -> dict:
    found = {}
    for url in urls:
        browser.get(base + url)
        if problems := violations(browser):
            found[url] = problems
    return found


def test_the_login_page_passes_wcag_2_1_aa(browser, live_server):
    browser.get(live_server.url + "/login/")
    assert violations(browser) == []


def test_every_page_a_student_uses_passes_wcag_2_1_aa(browser, live_server, world):
    log_in(browser, live_server.url, "alice")
    assert audit(browser, live_server.url, pages(world, "student")) == {}


def test_every_page_an_instructor_uses_passes_wcag_2_1_aa(browser, live_server, world):
    log_in(browser, live_server.url, "irene")
    assert audit(browser, live_server.url, pages(world, "instructor")) == {}


def test_every_chart_has_its_numbers_in_a_table(browser, live_server, world):
    from selenium.webdriver.common.by import By

    log_in(browser, live_server.url, "irene")
    c, slug = world["code"].course.slug, world["code"].slug
    missing = {}
    for url in (world["mine"].get_absolute_url(), reverse("dashboard", args=[c, slug])):
        browser.get(live_server.url + url)
        canvases = browser.find_elements(By.CSS_SELECTOR, "figure canvas")
        tables = browser.find_elements(By.CSS_SELECTOR, "details.chart-numbers table tbody tr:first-child")
        if not canvases or len(tables) != len(canvases):
            missing[url] = (len(canvases), len(tables))
    assert missing == {}


def focus_order(browser, presses: int = 80) -> list[str]:
    """The ids (or tag names) that Tab moves the focus through, from the top of the page."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    seen = []
    for _ in range(presses):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        seen.append(browser.execute_script(
            "const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase()) : '';"))
    return seen


def test_the_upload_form_is_reached_with_the_keyboard_in_order(browser, live_server, world):
    log_in(browser, live_server.url, "alice")
    code = world["code"]
    browser.get(live_server.url + reverse("assignment", args=[code.course.slug, code.slug]))
    order = focus_order(browser)
    assert "id_file" in order
    assert "submit" in order
    assert order.index("id_file") < order.index("submit")


def test_a_written_answer_is_typed_and_saved_with_the_keyboard_alone(browser, live_server, world, bob):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, live_server.url, "bob")
    written = world["written"]
    url = live_server.url + reverse("assignment", args=[written.course.slug, written.slug])
    browser.get(url)
    order = focus_order(browser, presses=120)
    assert "answer-s1" in order
    assert "save-draft" in order
    browser.get(url)
    for _ in range(order.index("answer-s1") + 1):
        ActionChains(browser).send_keys(Keys.TAB).perform()
    ActionChains(browser).send_keys("Typed without a mouse.").perform()
    for _ in range(order.index("save-draft") - order.index("answer-s1")):
        ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.execute_script("return document.activeElement.id") == "save-draft"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    WebDriverWait(browser, 20).until(lambda b: "Typed without a mouse." in b.page_source)
    browser.get(url)
    assert "Typed without a mouse." in browser.find_element("id", "answer-s1").get_attribute("value")
