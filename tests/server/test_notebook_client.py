"""Submitting from where students work, for real: the cell that the assignment page gives a student,
pasted at the end of a notebook built like theirs and run by a Jupyter kernel (nbclient), and the
terminal client (server/static/bellman_submit.py) run as a program, both against a live server whose
submissions a Celery worker grades in a sandbox."""
import ast
import html
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tests.conftest import EXAMPLES, ROOT, VAR, broker_use, database_url

SLUG = "qlearning-cliffwalking"
FOLDER = ROOT / "assignments" / SLUG
CLIENT = ROOT / "server" / "static" / "bellman_submit.py"
CHECKS = ("epsilon_greedy", "q_update", "learning_curve")


def client_module():
    spec = importlib.util.spec_from_file_location("bellman_submit", CLIENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log_in(client, user):
    client.force_login(user)
    return client


def cell_from_page(client, assignment) -> str:
    """The cell as the page shows it after the button, token included."""
    response = client.post(f"/c/rl/{assignment.slug}/notebook-token/")
    assert response.status_code == 200
    return html.unescape(re.search(r'<pre class="cell" id="cell">(.*?)</pre>', response.content.decode(), re.S)[1])


def students_notebook(cell: str):
    """The assignment's template notebook with its two gaps filled from the reference solution, as a
    student finishing it would, and ``cell`` pasted at its end."""
    import nbformat

    notebook = nbformat.read(FOLDER / "template.ipynb", as_version=4)
    reference = (FOLDER / "reference.py").read_text()
    functions = {node.name: ast.get_source_segment(reference, node)
                 for node in ast.parse(reference).body if isinstance(node, ast.FunctionDef)}
    for code in notebook.cells:
        name = re.match(r"def (\w+)", code.source)
        if name and "raise NotImplementedError" in code.source:
            code.source = functions[name[1]]
    notebook.cells.append(nbformat.v4.new_code_cell(cell))
    return notebook


def save(notebook, path):
    import nbformat

    nbformat.write(notebook, path)


# -- a Jupyter kernel, shared by the module's tests ----------------------------------------------------
class Kernel:
    """One real IPython kernel, started as Jupyter Server starts one for a notebook at ``path``:
    JPY_SESSION_NAME is that path and the working directory its folder. ``run`` executes cells in it
    and returns what they printed."""

    def __init__(self, path):
        import nbformat
        from nbclient import NotebookClient

        self.path = path
        self.client = NotebookClient(nbformat.v4.new_notebook(), timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})

    def run(self, notebook, *, last_only=False) -> str:
        """Run the notebook's code cells (or only its last cell) in order, as "Run all" does."""
        self.client.nb, printed = notebook, []
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or (last_only and index != len(notebook.cells) - 1):
                continue
            self.client.execute_cell(cell, index)
            printed += [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
            printed += [o.get("evalue", "") for o in cell.outputs if o.output_type == "error"]
        return "".join(printed)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    path = tmp_path_factory.mktemp("notebooks") / "solution.ipynb"
    venv_bin = os.path.dirname(sys.executable)
    env = {**os.environ, "JPY_SESSION_NAME": str(path), "PATH": venv_bin + os.pathsep + os.environ["PATH"],
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # the template's !pip line, offline
    env.pop("BELLMAN_TOKEN", None)
    shared = Kernel(path)
    with shared.client.setup_kernel(env=env, cwd=str(path.parent)):
        yield shared


@pytest.fixture
def fresh_kernel_file(kernel):
    """The kernel's notebook file, absent at the start of the test (and at its end)."""
    kernel.path.unlink(missing_ok=True)
    yield kernel
    kernel.path.unlink(missing_ok=True)


# -- a worker, shared by the module's tests --------------------------------------------------------
@pytest.fixture(scope="module")
def worker(redis_url, django_db_setup, django_db_blocker):
    """A real Celery worker on the test Redis and database, for all of this module's gradings."""
    from django.conf import settings

    with django_db_blocker.unblock():
        url = database_url()
    previous = broker_use(redis_url, settings)
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": url}
    env.pop("BELLMAN_TEST_DATABASE", None)
    env.pop("BELLMAN_TEST_POSTGRES_URL", None)
    with open(VAR / "test" / "worker-clients.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "server.celery", "worker", "--pool", "solo",
                                 "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                 "--queues", "celery,training,mail", "--hostname", f"clients-{os.getpid()}@%h"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield proc
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    broker_use(previous, settings)


@pytest.fixture
def site(live_server, settings):
    """The live server, named in what the pages embed (BELLMAN_BASE_URL) as it is in production."""
    settings.BELLMAN_BASE_URL = live_server.url
    return live_server.url


def terminal(*args, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BELLMAN_")}
    return subprocess.run([sys.executable, str(CLIENT), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=timeout)


# -- the page ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_assignment_page_offers_the_cell_without_a_token_and_the_terminal_client(client, alice, assignment,
                                                                                     settings):
    settings.BELLMAN_BASE_URL = "https://bellman.uni.example/"
    page = log_in(client, alice).get(assignment.get_absolute_url()).content.decode()
    cell = html.unescape(re.search(r'<pre class="cell" id="cell-no-token">(.*?)</pre>', page, re.S)[1])
    compile(cell, "cell", "exec")
    assert ("BELLMAN_SUBMIT_URL = 'https://bellman.uni.example/api/v1/courses/rl/assignments/"
            "qlearning-cliffwalking/submissions'") in cell
    assert 'BELLMAN_TOKEN = ""' in cell
    assert "bm_" not in cell
    assert 'href="/bellman_submit.py"' in page
    assert "--server https://bellman.uni.example rl/qlearning-cliffwalking solution.py" in page
    assert 'action="/c/rl/qlearning-cliffwalking/notebook-token/"' in page
    assert "csrfmiddlewaretoken" in page


@pytest.mark.django_db
def test_the_button_creates_a_named_token_and_shows_it_once_in_the_cell(client, alice, assignment):
    from server.api.models import ApiToken
    from server.api.tokens import token_user

    log_in(client, alice)
    response = client.post(f"/c/rl/{assignment.slug}/notebook-token/")
    cell = cell_from_page(client, assignment)
    token = re.search(r"BELLMAN_TOKEN = '(bm_[\w-]+)'", cell)[1]
    assert token_user(token) == alice
    assert list(ApiToken.objects.filter(user=alice).values_list("name", flat=True)) == [
        "notebook: rl/qlearning-cliffwalking"] * 2
    assert "no-store" in response["Cache-Control"]
    assert token not in client.get(assignment.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_the_button_takes_only_a_post_with_its_csrf_token(client, alice, assignment):
    from django.test import Client

    from server.api.models import ApiToken

    assert log_in(client, alice).get(f"/c/rl/{assignment.slug}/notebook-token/").status_code == 405
    strict = log_in(Client(enforce_csrf_checks=True), alice)
    assert strict.post(f"/c/rl/{assignment.slug}/notebook-token/").status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_an_outsider_gets_403_and_no_token(client, charlie, assignment):
    from server.api.models import ApiToken

    assert log_in(client, charlie).post(f"/c/rl/{assignment.slug}/notebook-token/").status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_terminal_client_is_served_to_anyone(client):
    response = client.get("/bellman_submit.py")
    assert response.status_code == 200
    assert response.content == CLIENT.read_bytes()
    assert response["Content-Disposition"] == 'attachment; filename="bellman_submit.py"'


def test_the_upload_leaves_out_the_cell_its_token_and_the_outputs():
    module = client_module()
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "source": ["x = 1\n", "print('bm_secret')"],
         "execution_count": 3, "outputs": [{"output_type": "stream", "name": "stdout", "text": "bm_secret\n"}]},
        {"cell_type": "markdown", "id": "b", "metadata": {}, "source": "Notes"},
        {"cell_type": "code", "id": "c", "metadata": {},
         "source": "# bellman-submit cell: ...\nBELLMAN_TOKEN = 'bm_secret'", "execution_count": 4, "outputs": []}]}
    uploaded = json.loads(module.notebook_for_upload(notebook, "bm_secret"))
    assert [c["id"] for c in uploaded["cells"]] == ["a", "b"]
    assert uploaded["cells"][0]["outputs"] == []
    assert uploaded["cells"][0]["execution_count"] is None
    assert "bm_secret" not in json.dumps(uploaded)


def test_the_limit_message_gives_the_local_time_of_the_next_submission():
    module = client_module()
    error = module.BellmanError("You have used your 1 submissions of the last 24 hours.", code="limit_reached",
                                status=429, retry_after=2 * 3600 + 600)
    assert_next_submission_at(module.describe_error(error, SUBMIT_URL), 2 * 3600 + 600)


def assert_next_submission_at(text, seconds):
    """``text`` gives the local time ``seconds`` from now (to the minute) as the next allowed submission."""
    said = re.search(r"You can submit again at (?:\w{3} \d\d \w{3} )?(\d\d:\d\d) your time \(in (\d+) h (\d\d) min\)",
                     text)
    assert said, text
    near = {time.strftime("%H:%M", time.localtime(time.time() + seconds + d)) for d in (-90, 0, 90)}
    assert said[1] in near
    assert abs(int(said[2]) * 3600 + int(said[3]) * 60 - seconds) <= 120


class FakeServer:
    """Answers the client's requests from a list: a dict (JSON) or a BellmanError to raise."""

    def __init__(self, module, answers):
        self.module, self.answers, self.slept, self.asked = module, list(answers), [], []

    def request(self, url, token, **kwargs):
        self.asked.append(url)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sleep(self, seconds):
        self.slept.append(seconds)


SUBMIT_URL = "https://bellman.uni.example/api/v1/courses/rl/assignments/q/submissions"
CREATED = {"id": 7, "status": "queued", "url": "/submissions/7/", "api_url": "/api/v1/submissions/7"}


def test_waiting_honours_retry_after_and_survives_a_brief_outage(monkeypatch):
    module = client_module()
    graded = {**CREATED, "status": "graded", "score": 60, "max_score": 100, "report": {"checks": []}}
    fake = FakeServer(module, [module.BellmanError("slow down", code="rate_limited", status=429, retry_after=7),
                               module.BellmanError("Could not reach", code="network"),
                               {**CREATED, "status": "running", "phase": "units"}, graded])
    monkeypatch.setattr(module, "api_request", fake.request)
    said = []
    assert module.wait(CREATED, SUBMIT_URL, "t", sleep=fake.sleep, say=said.append) == graded
    assert fake.slept == [7, 1.5, 2.25]
    assert fake.asked == ["https://bellman.uni.example/api/v1/submissions/7"] * 4
    assert said == ["... running the unit checks"]


def test_stopping_the_wait_says_the_submission_is_still_being_graded_and_where(monkeypatch):
    module = client_module()

    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "upload", lambda *args: CREATED)
    monkeypatch.setattr(module, "api_request", lambda *args, **kwargs: {**CREATED, "status": "running"})
    monkeypatch.setattr(module, "time", SimpleNamespace(sleep=interrupted, monotonic=time.monotonic))
    said = []
    assert module.submit(SUBMIT_URL, "t", "a.py", b"x", say=said.append) == 3
    assert said[-1] == ("Stopped waiting: submission #7 is still being graded. Its results will be at "
                        "https://bellman.uni.example/submissions/7/")


def test_waiting_stops_at_the_timeout(monkeypatch):
    module = client_module()
    now = [0.0]
    monkeypatch.setattr(module, "api_request", lambda *args, **kwargs: {**CREATED, "status": "queued"})

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(module.StillGrading):
        module.wait(CREATED, SUBMIT_URL, "t", timeout=60, sleep=sleep, clock=lambda: now[0], say=lambda text: None)
    assert 45 <= now[0] <= 60


@pytest.mark.parametrize("argv, message", [
    (["rl/q", "a.py"], "no server: pass --server URL or set BELLMAN_SERVER"),
    (["--server", "bellman.uni.example", "rl/q", "a.py"], "must start with https://"),
    (["--server", "https://b.example", "q", "a.py"], "name the assignment as COURSE/ASSIGNMENT"),
    (["--server", "https://b.example", "rl/q", "missing.py"], "cannot read missing.py"),
])
def test_usage_errors_exit_2_with_a_message(argv, message, tmp_path):
    result = subprocess.run([sys.executable, str(CLIENT), *argv], capture_output=True, text=True, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if not k.startswith("BELLMAN_")},
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_missing_token_is_a_usage_error(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    result = subprocess.run([sys.executable, str(CLIENT), "--server", "https://b.example", "rl/q", "a.py"],
                            capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if not k.startswith("BELLMAN_")})
    assert result.returncode == 2
    assert "no token: pass --token or set BELLMAN_TOKEN" in result.stderr


# -- the notebook cell in a Jupyter kernel ------------------------------------------------------------
@pytest.mark.django_db
def test_the_cell_tells_the_student_to_save_first_when_there_is_no_file(fresh_kernel_file, client, alice,
                                                                        assignment):
    from server.submissions.models import Submission

    notebook = students_notebook(cell_from_page(log_in(client, alice), assignment))
    printed = fresh_kernel_file.run(notebook, last_only=True)
    assert "This notebook's file was not found: save the notebook (File > Save, or Ctrl+S)" in printed
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_the_cell_warns_about_unsaved_changes_and_submits_nothing(fresh_kernel_file, client, alice, assignment):
    from server.submissions.models import Submission

    notebook = students_notebook(cell_from_page(log_in(client, alice), assignment))
    saved = students_notebook("")
    saved.cells.pop()  # saved before the cell was pasted
    save(saved, fresh_kernel_file.path)
    printed = fresh_kernel_file.run(notebook, last_only=True)
    assert "The saved file (solution.ipynb) does not hold this cell yet, so it misses your latest changes" in printed
    assert "Nothing was submitted." in printed
    assert not Submission.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_student_submits_from_the_notebook_and_reads_the_graded_result(fresh_kernel_file, site, worker,
                                                                        client, alice, assignment):
    from server.submissions.models import Submission

    cell = cell_from_page(log_in(client, alice), assignment)
    token = re.search(r"BELLMAN_TOKEN = '(bm_[\w-]+)'", cell)[1]
    notebook = students_notebook(cell)
    save(notebook, fresh_kernel_file.path)
    printed = fresh_kernel_file.run(notebook)

    submission = Submission.objects.get()
    assert submission.student == alice, printed
    assert submission.status == "graded", printed
    assert "Score: 100 / 100" in printed
    for check in CHECKS:
        assert re.search(rf"^  passed\s+{check}\s", printed, re.M), printed
    assert f"Results page: {site}/submissions/{submission.pk}/" in printed
    # What was stored is the student's notebook: every cell but the pasted one, with no token and no output.
    stored = json.loads(bytes(submission.original))
    assert submission.filename == "solution.ipynb"
    assert ["".join(c["source"]) for c in stored["cells"]] == [c.source for c in notebook.cells[:-1]]
    assert token not in bytes(submission.original).decode()
    assert "bellman-submit cell" not in submission.source


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_student_submits_from_the_terminal_and_reads_the_graded_result(site, worker, alice, assignment):
    from server.api.tokens import token_create
    from server.submissions.models import Submission

    _, token = token_create(alice, "laptop")
    result = terminal("--server", site, "--token", token, f"rl/{SLUG}", str(EXAMPLES / "passes_all.py"))
    submission = Submission.objects.get()
    assert result.returncode == 0, result.stdout + result.stderr
    assert submission.status == "graded"
    assert "Score: 100 / 100" in result.stdout
    for check in CHECKS:
        assert re.search(rf"^  passed\s+{check}\s", result.stdout, re.M), result.stdout
    assert f"Results page: {site}/submissions/{submission.pk}/" in result.stdout
    assert bytes(submission.original) == (EXAMPLES / "passes_all.py").read_bytes()


@pytest.mark.django_db(transaction=True)
def test_the_terminal_client_explains_a_revoked_token(site, alice, assignment):
    from server.api.tokens import token_create, token_revoke
    from server.submissions.models import Submission

    row, token = token_create(alice, "laptop")
    token_revoke(row)
    result = terminal("--server", site, "--token", token, f"rl/{SLUG}", str(EXAMPLES / "passes_all.py"))
    assert result.returncode == 1
    assert result.stdout.startswith("Not submitted: ")
    assert f"This token was revoked: create a new one at {site}/account/tokens/" in result.stdout
    assert not Submission.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_terminal_client_says_when_the_next_submission_is_allowed(site, alice, assignment):
    from server.api.tokens import token_create
    from server.submissions.models import Submission
    from tests.server.factories import graded

    assignment.submission_limit, assignment.limit_window_hours = 1, 24
    assignment.save()
    graded(assignment, alice, score=40, at=timezone.now() - timedelta(hours=1))
    _, token = token_create(alice, "laptop")
    result = terminal("--server", site, "--token", token, f"rl/{SLUG}", str(EXAMPLES / "passes_all.py"))
    assert result.returncode == 1
    assert result.stdout.startswith("Not submitted: You have used your 1 submissions of the last 24 hours; "
                                    "you can submit again at"), result.stdout
    assert_next_submission_at(result.stdout, 23 * 3600)
    assert Submission.objects.count() == 1


COLAB = '''import json, sys, types
_colab, _message, _bellman_asked = types.ModuleType("google.colab"), types.ModuleType("google.colab._message"), []
def _blocking_request(request, timeout_sec=None):
    _bellman_asked.append(request)
    return {"ipynb": json.loads(%r)}
_message.blocking_request, _colab._message = _blocking_request, _message
sys.modules.update({"google.colab": _colab, "google.colab._message": _message})'''


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_in_colab_the_cell_submits_the_notebook_that_colab_hands_over(fresh_kernel_file, site, worker, client,
                                                                      alice, assignment):
    """Colab keeps no file the kernel can read: the cell asks Colab's frontend (google.colab._message,
    stood in for here) for the notebook, unsaved edits included."""
    import nbformat

    from server.submissions.models import Submission

    notebook = students_notebook(cell_from_page(log_in(client, alice), assignment))
    notebook.metadata["colab"] = {"name": "Q-learning warm-up.ipynb", "provenance": []}
    colab = nbformat.from_dict({**notebook, "cells": [nbformat.v4.new_code_cell(COLAB % nbformat.writes(notebook)),
                                                      *notebook.cells]})
    try:
        printed = fresh_kernel_file.run(colab)
        assert fresh_kernel_file.run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "print(_bellman_asked)")])) == "['get_ipynb']\n"
    finally:
        fresh_kernel_file.run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "for _name in ('google.colab', 'google.colab._message'): sys.modules.pop(_name)")]))
    submission = Submission.objects.get()
    assert submission.filename == "Q-learning warm-up.ipynb", printed
    assert "Score: 100 / 100" in printed, printed
    stored = json.loads(bytes(submission.original))
    assert ["".join(c["source"]) for c in stored["cells"]] == [c.source for c in notebook.cells[:-1]]


# -- the page in a browser, under the Content Security Policy --------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_button_and_the_copy_button_work_under_the_content_security_policy(browser, live_server, alice,
                                                                              assignment):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.server.test_content_security_policy import WATCH, violations
    from tests.server.test_web_flow import log_in as browser_log_in

    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    try:
        browser_log_in(browser, live_server.url, "alice")
        browser.get(live_server.url + assignment.get_absolute_url())
        assert violations(browser) == []
        browser.find_element(By.ID, "notebook-token").click()
        WebDriverWait(browser, 30).until(lambda b: "notebook-token/" in b.current_url)
        cell = browser.find_element(By.ID, "cell").text
        assert re.search(r"BELLMAN_TOKEN = 'bm_[\w-]+'", cell)
        copy = browser.find_element(By.CSS_SELECTOR, "button[data-copy=cell]")
        copy.click()
        WebDriverWait(browser, 5).until(lambda b: copy.text in ("Copied", "Selected: press Ctrl+C"))
        assert violations(browser) == []
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})


def test_the_client_is_python_3_8_and_standard_library_only():
    tree = ast.parse(CLIENT.read_text(), feature_version=(3, 8))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    # IPython and google.colab are imported only inside a notebook, where they are what runs the cell.
    assert imported - {"IPython", "google"} <= set(sys.stdlib_module_names)
