"""Bellman inside an LMS's iframe, in headless Chromium over HTTPS: the LMS's course page (https://lms.test) frames
Bellman (https://bellman.test), two sites on loopback with a self-signed certificate of the test's own. A student
launches, submits, the submission is graded, and the LMS's gradebook holds the score; an instructor adds an
assignment through the deep-linking picker and the LMS receives it."""
import datetime
import ipaddress
import ssl
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from server.courses.models import Assignment, Course
from server.lti.models import ContextLink, Deployment, LineItem, Platform
from tests.conftest import EXAMPLES
from tests.server.lti_platform import INSTRUCTOR, LEARNER, TestPlatform

pytestmark = pytest.mark.django_db(transaction=True)
SLUG = "qlearning-cliffwalking"


def _certificate(folder):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bellman.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("bellman.test"), x509.DNSName("lms.test"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Secure(WSGIRequestHandler):
    def get_environ(self):
        environ = super().get_environ()
        environ["HTTPS"], environ["wsgi.url_scheme"] = "on", "https"
        return environ

    def log_message(self, *args):
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def sites(settings, tmp_path, monkeypatch):
    """Bellman and the LMS, each over HTTPS on loopback; the LMS registered, its course linked to one with the
    warm-up assignment and its gradebook column."""
    cert, key = _certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # Bellman's calls to the LMS trust the test's certificate
    settings.ALLOWED_HOSTS = ["bellman.test", "127.0.0.1", "testserver"]
    settings.BELLMAN_LTI_EMBED = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.CELERY_TASK_ALWAYS_EAGER = True  # grading and the grade passback run in the request, as a worker would
    server = make_server("127.0.0.1", 0, StaticFilesHandler(WSGIHandler()), server_class=_Server,
                         handler_class=_Secure)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bellman = f"https://bellman.test:{server.server_port}"
    lms = TestPlatform().start(tls=tls)
    lms.tool_login_url = bellman + "/lti/login/"
    lms.tool_jwks_url = f"https://127.0.0.1:{server.server_port}/lti/jwks/"
    lms.tls_client = ssl.create_default_context(cafile=str(cert))
    platform = Platform.objects.create(issuer=lms.issuer, client_id=lms.client_id, approved=True,
                                       auth_login_url=f"https://lms.test:{lms.port}/auth",
                                       auth_token_url=lms.base + "/token", key_set_url=lms.base + "/jwks")
    Deployment.objects.create(platform=platform, deployment_id=lms.deployment)
    course = Course.objects.create(slug="rl", title="Reinforcement Learning")
    link = ContextLink.objects.create(platform=platform, context_id="course-101", course=course,
                                      lineitems_url=lms.base + "/lineitems")
    assignment = Assignment.objects.create(course=course, slug=SLUG, title="Q-learning")
    column = lms.base + "/lineitems/1"
    lms.line_items[column] = {"id": column, "resourceId": SLUG, "scoreMaximum": 100.0, "label": "Q-learning"}
    LineItem.objects.create(platform=platform, context=link, assignment=assignment, url=column)
    yield bellman, lms
    server.shutdown()
    server.server_close()
    lms.stop()


def in_the_lms(chromium, lms, who):
    """The LMS's course page as ``who``, Bellman in its iframe; the driver is switched into the frame."""
    chromium.get(f"https://lms.test:{lms.port}/course?as={who}")
    chromium.switch_to.frame(chromium.find_element(By.ID, "tool"))


def test_a_student_launches_in_the_lms_iframe_submits_and_the_lms_gradebook_holds_the_score(chromium, sites):
    bellman, lms = sites
    lms.people["ada"] = [LEARNER]
    lms.launch_claims["ada"] = {"https://purl.imsglobal.org/spec/lti/claim/custom": {"assignment": SLUG}}
    chromium.delete_all_cookies()
    try:
        in_the_lms(chromium, lms, "ada")
        WebDriverWait(chromium, 30).until(lambda b: b.find_elements(By.ID, "id_file"))
        chromium.find_element(By.ID, "id_file").send_keys(str(EXAMPLES / "wrong_inverted_epsilon.py"))
        chromium.find_element(By.ID, "submit").click()
        WebDriverWait(chromium, 240).until(
            lambda b: b.find_elements(By.ID, "status")
            and b.find_element(By.ID, "status").get_attribute("data-status") in ("graded", "error"))
        status = chromium.find_element(By.ID, "status").get_attribute("data-status")
    finally:
        chromium.switch_to.default_content()
    score = lms.scores.get((lms.base + "/lineitems/1", "ada"))
    assert status == "graded"
    assert score["scoreGiven"] == 70.0
    assert score["gradingProgress"] == "FullyGraded"


def test_an_instructor_adds_an_assignment_through_the_deep_linking_picker_in_the_iframe(chromium, sites):
    bellman, lms = sites
    lms.people["teacher-1"] = [INSTRUCTOR]
    lms.launch_claims["teacher-1"] = {
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": None,
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
            "deep_link_return_url": f"https://lms.test:{lms.port}/deep-link-return",
            "accept_types": ["ltiResourceLink"], "accept_presentation_document_targets": ["iframe"],
            "data": "opaque-platform-data"}}
    chromium.delete_all_cookies()
    try:
        in_the_lms(chromium, lms, "teacher-1")
        WebDriverWait(chromium, 30).until(lambda b: b.find_elements(By.ID, f"assignment-{SLUG}"))
        chromium.find_element(By.ID, f"assignment-{SLUG}").click()
        chromium.find_element(By.ID, "add-to-lms").click()
        WebDriverWait(chromium, 30).until(lambda b: b.find_elements(By.ID, "added"))
    finally:
        chromium.switch_to.default_content()
    (token,) = lms.deep_link_responses
    items = lms.deep_linking_response(token, Client().get("/lti/jwks/").json())
    assert [(i["custom"]["assignment"], i["lineItem"]["resourceId"]) for i in items] == [(SLUG, SLUG)]


def test_a_browser_that_drops_bellman_s_cookies_in_the_frame_launches_through_the_lms_s_storage(chromium, sites):
    bellman, lms = sites
    lms.people["ada"] = [LEARNER]
    lms.launch_claims["ada"] = {"https://purl.imsglobal.org/spec/lti/claim/custom": {"assignment": SLUG}}
    lms.storage = lms.hold_launch = True
    chromium.delete_all_cookies()
    try:
        in_the_lms(chromium, lms, "ada")
        WebDriverWait(chromium, 30).until(lambda b: b.find_elements(By.ID, "continue"))
        chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})  # the login's state cookie is gone
        chromium.find_element(By.ID, "continue").click()
        WebDriverWait(chromium, 30).until(lambda b: b.find_elements(By.ID, "id_file"))
        chromium.switch_to.default_content()
        chromium.switch_to.frame(chromium.find_element(By.NAME, "post_message_forwarding"))
        asked = chromium.execute_script("return window.storage_requests")
    finally:
        chromium.switch_to.default_content()
    assert asked == 2  # the state put at the login, read back at the launch
