"""The whole path for real: a browser logs in and uploads, Redis carries the task, a Celery
worker grades in a sandbox, and the results page shows the graded report."""
import pytest

from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(browser, base, username, password=None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base}/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password or f"pw-{username}-123")
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 30).until(lambda b: "/login/" not in b.current_url)


def test_a_student_uploads_and_sees_the_graded_result(live_server, celery_worker, browser, alice, assignment):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, live_server.url, "alice")
    assert "Reinforcement Learning" in browser.page_source
    browser.find_element(By.LINK_TEXT, assignment.title).click()
    browser.find_element(By.ID, "id_file").send_keys(str(EXAMPLES / "wrong_inverted_epsilon.py"))
    browser.find_element(By.ID, "submit").click()

    WebDriverWait(browser, 30).until(lambda b: "/submissions/" in b.current_url)
    WebDriverWait(browser, 180, poll_frequency=1).until(
        lambda b: b.find_element(By.ID, "status").get_attribute("data-status") in ("graded", "error"),
        message="not graded in time; see var/test/worker.log")
    assert browser.find_element(By.ID, "status").get_attribute("data-status") == "graded"
    assert "Score: 70 / 100" in browser.find_element(By.ID, "score").text
    failed = browser.find_element(By.ID, "check-epsilon_greedy")
    assert "failed" in failed.text
    assert "not 1 - epsilon" in failed.text
    assert "passed" in browser.find_element(By.ID, "check-learning_curve").text
    labels = browser.execute_script(
        "return Chart.getChart(document.getElementById('learning-curve')).data.datasets.map(d => d.label)")
    assert labels == [f"run {i}" for i in range(1, 6)] + ["mean of runs", "threshold -17"]

    browser.get(live_server.url + assignment.get_absolute_url())
    assert "70 / 100" in browser.find_element(By.TAG_NAME, "table").text


def test_a_bad_upload_is_refused_on_the_page(live_server, browser, alice, assignment, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    bad = tmp_path / "notes.txt"
    bad.write_text("my answers")
    log_in(browser, live_server.url, "alice")
    browser.get(live_server.url + assignment.get_absolute_url())
    browser.find_element(By.ID, "id_file").send_keys(str(bad))
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(lambda b: "is not a .py or .ipynb file" in b.page_source)
    assert "No submissions yet." in browser.page_source


def log_out(browser, base):
    browser.delete_all_cookies()
    browser.get(f"{base}/login/")


def test_written_answers_from_draft_to_published_review(live_server, celery_worker, browser, alice, irene, course):
    """A student drafts in the browser (live word count, draft kept across a reload) and submits; the worker
    suggests scores; the instructor overrides one with a comment and publishes; the student then sees them."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from grader import assignments
    from grader.written.answers import parse

    synthesis = course.assignments.create(slug="synthesis-unit6", title="Unit 6 synthesis")
    folder = assignments.get("synthesis-unit6")
    answers = parse(folder.file("reference.md").read_text(), folder.rubric().ids, max_chars=20000)[0]

    log_in(browser, live_server.url, "alice")
    browser.get(live_server.url + synthesis.get_absolute_url())
    browser.find_element(By.ID, "answer-s1").send_keys("An agent learns by trial and error")
    assert browser.find_element(By.ID, "count-s1").text == "7"
    browser.find_element(By.ID, "answer-s3").click()  # leaving a box saves the draft
    WebDriverWait(browser, 15).until(lambda b: "Draft saved" in b.find_element(By.ID, "draft-status").text)
    browser.refresh()
    assert browser.find_element(By.ID, "answer-s1").get_attribute("value") == "An agent learns by trial and error"
    for item_id in ("s1", "s3", "e4"):
        box = browser.find_element(By.ID, f"answer-{item_id}")
        box.clear()
        browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
                               box, answers[item_id])
    assert int(browser.find_element(By.ID, "count-e4").text) >= 200
    browser.find_element(By.ID, "submit-answers").click()
    WebDriverWait(browser, 30).until(lambda b: "/submissions/" in b.current_url)
    WebDriverWait(browser, 180, poll_frequency=1).until(
        lambda b: b.find_element(By.ID, "status").get_attribute("data-status") in ("graded", "error"),
        message="not graded in time; see var/test/worker.log")
    assert "once they are published" in browser.find_element(By.ID, "status").text
    submission_url = browser.current_url

    log_out(browser, live_server.url)
    log_in(browser, live_server.url, "irene")
    browser.get(live_server.url + synthesis.get_absolute_url())
    browser.find_element(By.ID, "review-queue").click()
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-student="alice"]')
    assert row.get_attribute("data-state") == "to review"
    row.find_element(By.CLASS_NAME, "review").click()
    assert "trial and error" in browser.find_element(By.ID, "review-s1").text
    score = browser.find_element(By.ID, "score-s1")
    suggested = float(score.get_attribute("value"))
    score.clear()
    score.send_keys(str(suggested - 1))
    browser.find_element(By.ID, "publish").click()
    WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: b.find_elements(By.ID, "review-error"))
    assert "say why in a comment" in browser.find_element(By.ID, "review-error").text
    browser.find_element(By.ID, "score-s1").clear()
    browser.find_element(By.ID, "score-s1").send_keys(str(suggested - 1))
    browser.find_element(By.ID, "comment-s1").send_keys("Name a game where RL beat people.")
    browser.find_element(By.ID, "publish").click()
    WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: "Published" in b.find_element(By.ID, "review-state").text)

    log_out(browser, live_server.url)
    log_in(browser, live_server.url, "alice")
    browser.get(submission_url)
    assert browser.find_element(By.ID, "status").get_attribute("data-published") == "yes"
    assert "Name a game where RL beat people." in browser.find_element(By.ID, "comment-s1").text
    assert "/ 90" in browser.find_element(By.ID, "score").text
