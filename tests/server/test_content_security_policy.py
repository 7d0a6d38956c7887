"""The pages under the Content Security Policy, in Chromium: no violation is reported on any of them,
the charts still draw (Chart.js and bellman-charts.js are static files; their data travels in
json_script blocks), the written-answers form still counts words, and an inline script is refused."""
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.server.factories import graded
from tests.server.test_dashboard import checks, curves
from tests.server.test_web_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in every new document before the page's own scripts, so that no violation during loading is missed.
WATCH = ("window.cspViolations = [];"
         "document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push("
         "`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));")


@pytest.fixture
def watched(browser):
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    yield browser
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})


@pytest.fixture
def graded_class(course, assignment, irene, alice, bob):
    now = timezone.now()
    graded(assignment, bob, score=70, at=now - timedelta(hours=3), checks=checks("gamma_missing"),
           curves=curves(-15))
    return graded(assignment, alice, score=100, at=now - timedelta(hours=1), checks=checks(), curves=curves(-13))


def violations(browser):
    return browser.execute_script("return window.cspViolations")


def charts_drawn(browser) -> list[str]:
    """The ids of the page's chart canvases, once each has a Chart.js chart (waits for the deferred scripts)."""
    from selenium.webdriver.support.ui import WebDriverWait

    script = ("const all = [...document.querySelectorAll('canvas[data-chart]')];"
              "return all.every((c) => window.Chart && Chart.getChart(c) && c.dataset.drawn === 'true')"
              "  ? all.map((c) => c.id) : null;")
    return WebDriverWait(browser, 10).until(lambda b: b.execute_script(script), message="the charts did not draw")


def test_the_dashboard_and_results_pages_draw_their_charts_without_a_violation(live_server, watched, graded_class,
                                                                              assignment):
    base = live_server.url
    log_in(watched, base, "irene")
    watched.get(f"{base}/c/rl/{assignment.slug}/dashboard/")
    assert set(charts_drawn(watched)) >= {"chart-scores", "chart-hourly", "chart-curve", "chart-metric"}
    assert violations(watched) == []
    watched.get(base + graded_class.get_absolute_url())
    assert charts_drawn(watched) == ["learning-curve"]
    assert violations(watched) == []


def test_the_other_pages_report_no_violation(live_server, watched, graded_class, assignment, irene):
    from server.courses.services import enrolment_set

    enrolment_set(course=assignment.course, user=irene, role="instructor")  # staff: the admin pages too
    base = live_server.url
    watched.get(f"{base}/login/")
    assert violations(watched) == []
    log_in(watched, base, "irene")
    for path in ("/", "/c/rl/", f"/c/rl/{assignment.slug}/", f"/c/rl/{assignment.slug}/settings/", "/c/rl/roster/",
                 "/admin/", "/admin/submissions/submission/",
                 f"/admin/submissions/submission/{graded_class.pk}/change/"):
        watched.get(base + path)
        assert violations(watched) == [], path


def test_the_written_form_counts_words_from_its_static_script(live_server, watched, course, alice):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from server.courses.models import Assignment

    Assignment.objects.create(course=course, slug="synthesis-unit6", title="Synthesis")
    log_in(watched, live_server.url, "alice")
    watched.get(f"{live_server.url}/c/rl/synthesis-unit6/")
    box = watched.find_element(By.CSS_SELECTOR, "#written-form textarea")
    box.send_keys("Bootstrapping updates an estimate from another estimate.")
    counter = watched.find_element(By.CSS_SELECTOR, f".word-count[data-for='{box.get_attribute('id')}']")
    WebDriverWait(watched, 5).until(lambda b: counter.text == "7", message=f"word count {counter.text!r}")
    assert violations(watched) == []


def test_an_inline_script_is_refused_and_reported(live_server, watched):
    from selenium.webdriver.support.ui import WebDriverWait

    watched.get(f"{live_server.url}/login/")
    watched.execute_script("const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
                           "document.body.appendChild(s);")
    WebDriverWait(watched, 5).until(lambda b: violations(b), message="no violation reported")
    assert violations(watched)[0].startswith("script-src")
    assert watched.execute_script("return window.inlineRan === undefined")
