"""A second opinion on Bellman's LTI 1.3, from an implementation that is not the suite's: lti1p3platform (PyPI), a
platform library, runs the OIDC login and signs the launch with its own keys (served to Bellman over loopback
HTTP), issues the grade service's access token only for a client assertion it verifies against Bellman's
published key set, and validates Bellman's deep-linking response."""
import re
import urllib.parse

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from django.test import Client
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import MessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

from server.courses.models import Assignment
from server.lti import grades
from server.lti.models import ContextLink, Platform
from tests.server.lti_platform import INSTRUCTOR, TestPlatform

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER, CLIENT_ID, DEPLOYMENT = "https://reference-lms.example", "bellman-at-reference", "ref-deployment"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def _pem_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class ReferencePlatform(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs):
        private, public = _pem_pair()
        self._registration = (Registration().set_iss(ISSUER).set_client_id(CLIENT_ID).set_deployment_id(DEPLOYMENT)
                              .set_oidc_login_url("http://testserver/lti/login/")
                              .set_launch_url("http://testserver/lti/launch/")
                              .set_platform_private_key(private).set_platform_public_key(public)
                              .set_tool_key_set_url(kwargs["tool_jwks_url"]))

    def get_registration_by_params(self, **kwargs):
        return self._registration


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs):
        self._lti_message_hint = kwargs.get("resource", "")

    def get_redirect(self, url):
        return url


class Launch(MessageLaunchAbstract):
    def render_launch_form(self, launch_data, **kwargs):
        return launch_data

    def get_preflight_response(self):
        return self._request["get_data"]


@pytest.fixture
def reference(settings, live_server):
    settings.BELLMAN_LTI_ALLOW_INSECURE = True
    cache.clear()
    conf = ReferencePlatform(tool_jwks_url=live_server.url + "/lti/jwks/")
    keys = TestPlatform(issuer=ISSUER, client_id=CLIENT_ID, deployment=DEPLOYMENT).start()  # serves its key set
    keys.jwks = lambda: {"keys": conf.get_jwks()["keys"]}
    keys.register()
    yield conf
    keys.stop()


def launch(conf, client, *, roles, claims=None):
    """The reference platform's login and launch, through a browser (Django's test client)."""
    login = Login({"get_data": {}}, conf)  # type: ignore[arg-type]
    login.set_launch_url("http://testserver/lti/launch/")
    login.set_lti_message_hint(resource="link-1")
    preflight = urllib.parse.urlsplit(login.initiate_login("teacher-7"))
    redirect = client.get(preflight.path, dict(urllib.parse.parse_qsl(preflight.query)))
    auth = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect["Location"]).query))
    message = Launch({"get_data": auth}, conf)  # type: ignore[arg-type]
    message.set_user_data("teacher-7", roles, full_name="Grace Hopper", email_address="grace@example.edu")
    message.set_resource_link_claim("link-1")
    message.set_launch_context_claim("ref-course-1", context_title="Deep RL", context_label="DRL")
    message.set_extra_claims(claims or {})
    form = message.lti_launch()  # checks Bellman's answer to the login (nonce, state, redirect URI, client id)
    return client.post(form["launch_url"], {"state": form["state"], "id_token": form["id_token"]})


def test_a_launch_signed_by_an_independent_platform_is_accepted(reference):
    client = Client()
    response = launch(reference, client, roles=[INSTRUCTOR])
    assert response.status_code == 302
    assert response["Location"] == f"/c/{ContextLink.objects.get().course.slug}/"


def test_bellman_s_client_assertion_passes_an_independent_token_endpoint(reference):
    platform = Platform.objects.get(issuer=ISSUER)
    connector = grades.Connector(platform)
    assertion = {}

    class Capture:  # the token request Bellman would post, taken before it leaves
        ok = False

        def __init__(self, form):
            assertion.update(form)

    connector._requests_session.post = lambda url, data=None, **kwargs: Capture(data)
    with pytest.raises(Exception):  # noqa: B017 - the captured request has no answer; the assertion is what counts
        connector.get_access_token([grades.SCOPE_SCORE])
    token = reference.get_access_token(assertion)
    assert token["token_type"] == "bearer"
    assert grades.SCOPE_SCORE in token["scope"]


def test_bellman_s_deep_linking_response_passes_an_independent_platform(reference):
    client = Client()
    launch(reference, client, roles=[INSTRUCTOR])
    course = ContextLink.objects.get().course
    Assignment.objects.create(course=course, slug="qlearning-cliffwalking", title="Q-learning")
    picker = launch(reference, client, roles=[INSTRUCTOR], claims={
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
        DEEP_LINKING: {"deep_link_return_url": "http://127.0.0.1:9/return", "accept_types": ["ltiResourceLink"],
                       "accept_presentation_document_targets": ["iframe", "window"], "data": "d"}})
    answer = client.post(picker["Location"], {"assignment": ["qlearning-cliffwalking"]}).content.decode()
    token = re.search(r'name="JWT" value="([^"]+)"', answer).group(1)
    items = reference.validate_deeplinking_resp({"JWT": token})
    assert [i["custom"] for i in items] == [{"assignment": "qlearning-cliffwalking"}]
