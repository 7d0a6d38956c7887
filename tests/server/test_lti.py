"""LTI 1.3 launches against a platform with real RS256 keys served over HTTP on loopback (tests/server/
lti_platform.py): accounts by (issuer, subject), courses linked by their instructor, roles, and every way a launch
must be refused, each a 4xx page that says what to fix. The holes PyLTI1p3 2.0.0 leaves (a re-posted id_token, a
launch from another browser, no issued-at leeway, `aud` lists without `azp`, 500s) are tested here."""
import re
import time
import urllib.parse
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from server.courses.models import Assignment, Enrolment
from server.lti.launch import STATE_COOKIE
from server.lti.models import ContextLink, Identity, Platform, ToolKey
from tests.server.lti_platform import INSTRUCTOR, LEARNER, TestPlatform

pytestmark = pytest.mark.django_db


@pytest.fixture
def lms(settings):
    settings.BELLMAN_LTI_ALLOW_INSECURE = True  # the platform's URLs are plain http on loopback
    cache.clear()
    platform = TestPlatform().start()
    platform.register()
    yield platform
    platform.stop()


def post(client, auth, token):
    return client.post(auth["redirect_uri"], {"id_token": token, "state": auth["state"]})


def launched(lms, client=None, **claims):
    client = client or Client()
    return client, lms.launch(client, **claims)


# -- what a launch does ---------------------------------------------------------------------------------------------
def test_an_instructor_s_first_launch_links_the_context_to_a_new_course(lms):
    client, response = launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    link = ContextLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/c/{link.course.slug}/"
    assert link.course.title == "Reinforcement Learning"
    assert Enrolment.objects.get(course=link.course).role == Enrolment.INSTRUCTOR


def test_the_launch_signs_the_user_in(lms):
    client, response = launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    assert client.get(response["Location"]).status_code == 200


def test_a_learner_joins_the_linked_course_as_a_student(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    _, response = launched(lms, sub="student-1", roles=[LEARNER])
    user = Identity.objects.get(subject="student-1").user
    assert response.status_code == 302
    assert Enrolment.objects.get(user=user).role == Enrolment.STUDENT


def test_a_learner_before_the_instructor_is_told_to_wait(lms):
    _, response = launched(lms, sub="student-1", roles=[LEARNER])
    assert response.status_code == 403
    assert b"not linked to a Bellman course yet" in response.content


def test_an_account_is_its_issuer_and_subject_never_its_e_mail(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    launched(lms, sub="student-1", email="shared@example.edu")
    launched(lms, sub="student-2", email="shared@example.edu")
    launched(lms, sub="student-1", email="new-address@example.edu")
    assert Identity.objects.filter(subject__startswith="student").count() == 2
    assert get_user_model().objects.filter(lti_identities__subject="student-1").get().email == \
        "new-address@example.edu"


def test_an_instructor_of_another_context_is_a_student_in_this_one(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR], context="course-101")
    launched(lms, sub="teacher-2", roles=[INSTRUCTOR], context="course-202")
    client, response = launched(lms, sub="teacher-2", roles=[LEARNER], context="course-101")
    course = ContextLink.objects.get(context_id="course-101").course
    teacher = Identity.objects.get(subject="teacher-2").user
    assert Enrolment.objects.get(course=course, user=teacher).role == Enrolment.STUDENT
    assert client.get(f"/c/{course.slug}/roster/").status_code == 403


def test_a_role_bellman_does_not_have_is_refused(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR])  # the course is linked: only the role can refuse
    _, response = launched(lms, roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"])
    assert response.status_code == 403
    assert b"gives no access" in response.content


def test_an_institution_administrator_is_what_the_course_says(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    launched(lms, sub="admin-1", roles=[LEARNER,
                                        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"])
    assert Enrolment.objects.get(user__lti_identities__subject="admin-1").role == Enrolment.STUDENT


def test_claims_of_the_wrong_type_are_a_4xx_page_not_a_500(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    _, response = launched(lms, sub="student-1", roles="Learner",
                           **{"https://purl.imsglobal.org/spec/lti/claim/context": ["course-101"]})
    assert response.status_code in (400, 403)


# -- the holes PyLTI1p3 leaves -----------------------------------------------------------------------------------------
def test_a_re_posted_id_token_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    state_cookie = client.cookies[STATE_COOKIE].value
    token = lms.sign(lms.claims(nonce=auth["nonce"], sub="teacher-1", roles=[INSTRUCTOR]))
    first = post(client, auth, token)
    client.cookies[STATE_COOKIE] = state_cookie  # the same browser, its login's cookie still there
    again = post(client, auth, token)
    assert first.status_code == 302
    assert again.status_code == 403
    assert b"already used" in again.content


def test_a_launch_replayed_from_another_browser_is_refused(lms):
    auth = lms.login(Client())
    token = lms.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR]))
    response = post(Client(), auth, token)
    assert response.status_code == 403
    assert b"did not start in this browser" in response.content


def test_a_state_from_another_login_of_the_same_browser_is_refused(lms):
    client = Client()
    first = lms.login(client)
    second = lms.login(client)
    token = lms.sign(lms.claims(nonce=first["nonce"], roles=[INSTRUCTOR]))
    response = client.post(second["redirect_uri"], {"id_token": token, "state": first["state"]})
    assert response.status_code == 403


def test_a_nonce_other_than_the_login_s_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    response = post(client, auth, lms.sign(lms.claims(nonce="another-nonce", roles=[INSTRUCTOR])))
    assert response.status_code == 403


def test_a_platform_clock_two_seconds_ahead_is_accepted(lms):
    client = Client()
    auth = lms.login(client)
    now = int(time.time()) + 2
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR], iat=now,
                                                      exp=now + 300)))
    assert response.status_code == 302


def test_issued_beyond_the_leeway_in_the_future_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    future = int(time.time()) + 120
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], iat=future, exp=future + 300)))
    assert response.status_code == 400
    assert b"issued in the future" in response.content


def test_an_audience_list_without_azp_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], aud=[lms.client_id, "other-tool"])))
    assert response.status_code == 400
    assert b"authorised party" in response.content


def test_an_audience_list_whose_azp_is_another_tool_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    token = lms.sign(lms.claims(nonce=auth["nonce"], aud=["other-tool", lms.client_id], azp="other-tool"))
    assert post(client, auth, token).status_code == 400


def test_an_audience_list_with_bellman_as_azp_is_accepted(lms):
    client = Client()
    auth = lms.login(client)
    token = lms.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR], aud=["other-tool", lms.client_id],
                                azp=lms.client_id))
    assert post(client, auth, token).status_code == 302


# -- signatures and claims ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "HS256-public-key"])
def test_a_token_not_signed_with_rs256_is_refused(lms, alg):
    client = Client()
    auth = lms.login(client)
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR]), alg=alg))
    assert response.status_code == 400
    assert b"RS256" in response.content


def test_a_token_signed_by_a_key_the_platform_does_not_publish_is_refused(lms):
    stranger = lms.add_key(publish=False)
    client = Client()
    auth = lms.login(client)
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR]), kid=stranger))
    assert response.status_code == 400
    assert b"does not hold" in response.content


def test_a_platform_key_rotated_since_the_cache_is_fetched_once_more(lms):
    launched(lms, sub="teacher-1", roles=[INSTRUCTOR])  # the key set is cached now
    fetched = lms.jwks_requests
    lms.kid = lms.add_key()
    _, response = launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    assert response.status_code == 302
    assert lms.jwks_requests == fetched + 1


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    forger = TestPlatform()
    token = forger.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR]), kid=forger.kid)
    forged = token.split(".")
    genuine = lms.sign(lms.claims(nonce=auth["nonce"], roles=[INSTRUCTOR])).split(".")
    response = post(client, auth, ".".join([genuine[0], forged[1], forged[2]]))
    assert response.status_code == 400


def test_an_expired_token_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    past = int(time.time()) - 3600
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], iat=past, exp=past + 300)))
    assert response.status_code == 400
    assert b"expired" in response.content


def test_a_token_of_another_issuer_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], iss="https://evil.example")))
    assert response.status_code == 400


def test_a_token_for_another_audience_is_refused(lms):
    client = Client()
    auth = lms.login(client)
    response = post(client, auth, lms.sign(lms.claims(nonce=auth["nonce"], aud="another-tool")))
    assert response.status_code == 400


def test_an_unknown_deployment_is_refused(lms):
    _, response = launched(lms, roles=[INSTRUCTOR], **{"https://purl.imsglobal.org/spec/lti/claim/deployment_id":
                                                        "deployment-x"})
    assert response.status_code == 400
    assert b"deployment" in response.content


def test_a_version_other_than_1_3_0_is_refused(lms):
    _, response = launched(lms, roles=[INSTRUCTOR], **{"https://purl.imsglobal.org/spec/lti/claim/version": "1.1"})
    assert response.status_code == 400


def test_a_garbled_token_is_a_4xx_page_not_a_500(lms):
    client = Client()
    auth = lms.login(client)
    assert post(client, auth, "not.a.jwt").status_code == 400


def test_a_platform_not_approved_cannot_start_a_login(settings):
    settings.BELLMAN_LTI_ALLOW_INSECURE = True
    platform = TestPlatform().start()
    try:
        platform.register(approved=False)
        response = Client().get("/lti/login/", {"iss": platform.issuer, "login_hint": "x"})
    finally:
        platform.stop()
    assert response.status_code == 400


def test_plain_http_platform_urls_are_refused_without_the_insecure_setting(settings):
    settings.BELLMAN_LTI_ALLOW_INSECURE = False
    platform = TestPlatform().start()
    try:
        with pytest.raises(Exception, match="not HTTPS"):
            platform.register()
    finally:
        platform.stop()


# -- Bellman's keys ----------------------------------------------------------------------------------------------------
def test_the_jwks_publishes_the_signing_key(client):
    keys = client.get("/lti/jwks/").json()["keys"]
    assert [k["kid"] for k in keys] == [ToolKey.signing().kid]


def test_a_rotated_key_is_published_before_it_signs():
    call_command("lti_keys", "rotate")
    old = ToolKey.signing()
    call_command("lti_keys", "rotate")
    published = [k["kid"] for k in Client().get("/lti/jwks/").json()["keys"]]
    assert ToolKey.signing() == old
    assert len(published) == 3


def test_a_retired_key_is_no_longer_published():
    call_command("lti_keys", "rotate", "--lead-hours", "0")
    old = ToolKey.objects.order_by("signs_from").first()
    call_command("lti_keys", "retire", old.kid)
    assert old.kid not in [k["kid"] for k in Client().get("/lti/jwks/").json()["keys"]]


def test_the_admin_shows_a_key_without_its_private_part(admin_client):
    Client().get("/lti/jwks/")  # the first key is made
    page = admin_client.get(f"/admin/lti/toolkey/{ToolKey.objects.get().pk}/change/")
    assert page.status_code == 200
    assert b"PRIVATE KEY" not in page.content


# -- deep linking ---------------------------------------------------------------------------------------------------
@pytest.fixture
def linked(lms):
    """A linked course with two assignments, and its instructor's browser."""
    teacher = Client()
    lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR])
    course = ContextLink.objects.get().course
    due = timezone.now() + timedelta(days=7)
    Assignment.objects.create(course=course, slug="qlearning-cliffwalking", title="Q-learning", due_at=due)
    Assignment.objects.create(course=course, slug="dqn-cartpole", title="DQN")
    return teacher, course


def test_deep_linking_adds_the_chosen_assignments_with_their_gradebook_columns(lms, linked):
    teacher, course = linked
    picker = lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR], **lms.deep_linking_claims())
    page = teacher.get(picker["Location"])
    answer = teacher.post(picker["Location"], {"assignment": ["qlearning-cliffwalking"]})
    form = re.search(r'<form method="post" action="([^"]+)" id="deep-link-return".*?name="JWT" value="([^"]+)"',
                     answer.content.decode(), re.S)
    items = lms.deep_linking_response(form.group(2), teacher.get("/lti/jwks/").json())
    assert b"DQN" in page.content
    assert form.group(1) == lms.base + "/deep-link-return"
    assert [(i["type"], i["custom"], i["url"]) for i in items] == [
        ("ltiResourceLink", {"assignment": "qlearning-cliffwalking"}, "http://testserver/lti/launch/")]
    assert items[0]["lineItem"]["resourceId"] == "qlearning-cliffwalking"
    assert items[0]["lineItem"]["scoreMaximum"] == 100.0
    assert items[0]["submission"]["endDateTime"] == course.assignments.get(slug="qlearning-cliffwalking").due_at \
        .isoformat()


def test_the_answer_page_may_post_to_the_lms_and_nowhere_else(lms, linked):
    teacher, _ = linked
    picker = lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR], **lms.deep_linking_claims())
    answer = teacher.post(picker["Location"], {"assignment": ["dqn-cartpole"]})
    directives = dict(d.strip().split(" ", 1) for d in answer["Content-Security-Policy"].split(";") if d.strip())
    assert directives["form-action"].split() == ["'self'", lms.base]


@pytest.mark.parametrize("broken", ["absent", "a list", "no return URL", "a number as return URL"])
def test_a_deep_linking_launch_without_usable_settings_is_a_400_that_says_so(lms, linked, broken):
    name = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    claims = lms.deep_linking_claims()
    good = claims[name]
    claims[name] = {"absent": None, "a list": [good], "no return URL": {**good, "deep_link_return_url": None},
                    "a number as return URL": {**good, "deep_link_return_url": 42}}[broken]
    response = lms.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR], **claims)
    assert response.status_code == 400
    assert "deep link" in response.content.decode().lower().replace("_", " ")


def test_a_learner_cannot_deep_link(lms, linked):
    response = lms.launch(Client(), sub="student-1", roles=[LEARNER], **lms.deep_linking_claims())
    assert response.status_code == 403


def test_a_deep_link_opens_its_assignment(lms, linked):
    _, course = linked
    _, response = launched(lms, sub="student-1", roles=[LEARNER],
                           **{"https://purl.imsglobal.org/spec/lti/claim/custom": {"assignment": "dqn-cartpole"}})
    assert response["Location"] == f"/c/{course.slug}/dqn-cartpole/"


def test_a_picker_of_another_instructor_s_session_is_not_found(lms, linked):
    teacher, _ = linked
    picker = lms.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR], **lms.deep_linking_claims())
    other = Client()
    lms.launch(other, sub="teacher-1", roles=[INSTRUCTOR])
    assert other.get(picker["Location"]).status_code == 404


# -- dynamic registration and Canvas's configuration ---------------------------------------------------------------
@pytest.fixture
def new_lms(settings):
    settings.BELLMAN_LTI_ALLOW_INSECURE = True
    platform = TestPlatform().start()
    platform.issuer = platform.base  # the issuer's own host serves its OpenID configuration
    yield platform
    platform.stop()


def register(platform):
    """The LMS administrator's window on /lti/register/."""
    return Client().get("/lti/register/", {"openid_configuration": platform.base + "/.well-known/openid-configuration",
                                           "registration_token": platform.registration_token})


def test_dynamic_registration_registers_bellman_pending_approval(new_lms):
    response = register(new_lms)
    platform = Platform.objects.get(issuer=new_lms.issuer)
    (sent,) = new_lms.registrations
    assert response.status_code == 200
    assert platform.approved is False
    assert platform.client_id == new_lms.client_id
    assert platform.deployments.get().deployment_id == new_lms.deployment
    assert sent["jwks_uri"] == "http://testserver/lti/jwks/"
    assert sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]["target_link_uri"] == \
        "http://testserver/lti/launch/"


def test_a_registered_platform_launches_once_approved(new_lms):
    register(new_lms)
    refused_before = Client().get("/lti/login/", {"iss": new_lms.issuer, "login_hint": "x"}).status_code
    Platform.objects.update(approved=True)
    _, response = launched(new_lms, sub="teacher-1", roles=[INSTRUCTOR])
    assert refused_before == 400
    assert response.status_code == 302


def test_an_openid_configuration_from_another_host_than_its_issuer_is_refused(new_lms):
    new_lms.issuer = "https://lms.example.edu"
    response = register(new_lms)
    assert response.status_code == 400
    assert not Platform.objects.exists()


@pytest.mark.parametrize("url", ["http://10.0.0.7/.well-known/openid-configuration",
                                 "https://169.254.169.254/latest/meta-data/", "ftp://lms.example.edu/config"])
def test_a_configuration_url_that_is_not_public_https_is_never_fetched(settings, url):
    settings.BELLMAN_LTI_ALLOW_INSECURE = False
    response = Client().get("/lti/register/", {"openid_configuration": url, "registration_token": "t"})
    assert response.status_code == 400


def test_loopback_is_refused_without_the_insecure_setting(new_lms, settings):
    settings.BELLMAN_LTI_ALLOW_INSECURE = False
    url = f"https://127.0.0.1:{new_lms.port}/.well-known/openid-configuration"  # HTTPS: only the address refuses
    response = Client().get("/lti/register/", {"openid_configuration": url, "registration_token": "t"})
    assert response.status_code == 400
    assert b"public address" in response.content
    assert new_lms.requests == []


@pytest.mark.parametrize("url", ["https://127.0.0.1\\@lms.example.edu/.well-known/openid-configuration",
                                 "https://user@lms.example.edu/.well-known/openid-configuration"])
def test_a_url_that_parsers_read_differently_is_refused(settings, url):
    settings.BELLMAN_LTI_ALLOW_INSECURE = True
    response = Client().get("/lti/register/", {"openid_configuration": url, "registration_token": "t"})
    assert response.status_code == 400
    assert b"plain HTTPS URL" in response.content


def test_a_registration_is_never_replaced_by_another(new_lms):
    register(new_lms)
    Platform.objects.update(approved=True)
    response = register(new_lms)
    assert response.status_code == 409
    assert Platform.objects.get().approved is True


def test_a_second_registration_of_an_issuer_with_other_keys_is_refused(lms, settings):
    with pytest.raises(CommandError, match="another key set"):
        call_command("lti_platform", "add", "--issuer", lms.issuer, "--client-id", "rogue-client",
                     "--auth-url", lms.base + "/auth", "--token-url", lms.base + "/token",
                     "--jwks-url", lms.base + "/rogue-jwks", "--deployment", "d")


def test_the_canvas_configuration_names_bellman_s_urls():
    config = Client().get("/lti/canvas.json").json()
    assert config["oidc_initiation_url"] == "http://testserver/lti/login/"
    assert config["public_jwk_url"] == "http://testserver/lti/jwks/"
    assert {p["placement"] for p in config["extensions"][0]["settings"]["placements"]} >= {"link_selection",
                                                                                            "assignment_selection"}


# -- inside the LMS's iframe ----------------------------------------------------------------------------------------
def framed_launch(lms, client, **claims):
    auth = lms.login(client)
    token = lms.sign(lms.claims(nonce=auth["nonce"], **claims))
    return client.post(auth["redirect_uri"], {"id_token": token, "state": auth["state"]}, HTTP_ORIGIN=lms.base)


def frame_ancestors(response) -> list:
    directives = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
    return directives["frame-ancestors"].split()


def test_the_lms_that_launched_may_frame_the_course_page(lms):
    client = Client()
    landing = framed_launch(lms, client, sub="teacher-1", roles=[INSTRUCTOR])
    page = client.get(landing["Location"])
    assert frame_ancestors(page) == ["'self'", lms.base]
    assert "X-Frame-Options" not in page


def test_pages_an_lms_does_not_embed_stay_unframeable(lms):
    client = Client()
    framed_launch(lms, client, sub="teacher-1", roles=[INSTRUCTOR])
    page = client.get("/")
    assert frame_ancestors(page) == ["'none'"]
    assert page["X-Frame-Options"] == "DENY"


def test_a_visitor_who_did_not_launch_cannot_be_framed(lms):
    client = Client()
    framed_launch(lms, client, sub="teacher-1", roles=[INSTRUCTOR])
    course = ContextLink.objects.get().course
    stranger = Client()
    lms.launch(stranger, sub="student-1", roles=[LEARNER])  # no Origin: a launch in a window of its own
    page = stranger.get(f"/c/{course.slug}/")
    assert frame_ancestors(page) == ["'none'"]


def test_embedded_the_session_cookie_is_sent_in_a_third_party_frame(lms, settings):
    settings.BELLMAN_LTI_EMBED = True
    response = framed_launch(lms, Client(), sub="teacher-1", roles=[INSTRUCTOR])
    cookie = response.cookies[settings.SESSION_COOKIE_NAME].OutputString()
    assert "SameSite=None" in cookie
    assert "Secure" in cookie
    assert cookie.endswith("; Partitioned")


def storage_data(response) -> dict:
    """The data the storage page gives its script (its json_script block)."""
    import json

    found = re.search(r'<script id="lti-storage" type="application/json">(.*?)</script>', response.content.decode(),
                      re.S)
    assert found, response.content[:500]
    return json.loads(found.group(1))


def stored_login(lms, client):
    """A login where the LMS offers its storage frame: what the page keeps there, and where it goes next."""
    response = client.get("/lti/login/", {"iss": lms.issuer, "client_id": lms.client_id, "login_hint": "teacher-1",
                                          "target_link_uri": "http://testserver/lti/launch/",
                                          "lti_storage_target": "post_message_forwarding"})
    assert response.status_code == 200
    data = storage_data(response)
    auth = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(data["next"]).query))
    return data, auth


def test_a_login_with_the_lms_s_storage_keeps_the_state_there_for_the_lms_s_origin_alone(lms):
    data, auth = stored_login(lms, Client())
    assert data["mode"] == "put"
    assert data["target"] == "post_message_forwarding"
    assert data["origin"] == lms.base
    assert data["key"] == "state_" + auth["state"]


def test_a_launch_without_the_cookie_reads_the_state_back_from_the_lms_s_storage(lms):
    browser = Client()
    data, auth = stored_login(lms, browser)
    browser.cookies.pop(STATE_COOKIE)  # a browser that keeps no cookie for Bellman in the iframe
    token = lms.sign(lms.claims(nonce=auth["nonce"], sub="teacher-1", roles=[INSTRUCTOR]))
    page = browser.post("/lti/launch/", {"id_token": token, "state": auth["state"],
                                         "lti_storage_target": "post_message_forwarding"})
    assert storage_data(page) == {"mode": "get", "target": "post_message_forwarding", "origin": lms.base,
                                  "key": "state_" + auth["state"]}
    response = browser.post("/lti/launch/", {"id_token": token, "state": auth["state"], "lti_storage_state":
                                             data["value"], "lti_storage_target": "post_message_forwarding"},
                            headers={"Origin": "http://testserver"})
    assert response.status_code == 302
    assert Identity.objects.filter(subject="teacher-1").exists()


def test_a_stored_state_posted_from_another_site_is_refused(lms):
    browser = Client()
    data, auth = stored_login(lms, browser)
    browser.cookies.pop(STATE_COOKIE)
    token = lms.sign(lms.claims(nonce=auth["nonce"], sub="teacher-1", roles=[INSTRUCTOR]))
    response = browser.post("/lti/launch/", {"id_token": token, "state": auth["state"], "lti_storage_state":
                                             data["value"]}, headers={"Origin": "https://attacker.example"})
    assert response.status_code == 403
    assert not Identity.objects.exists()


def test_a_stored_state_of_another_login_is_refused(lms):
    other, _ = stored_login(lms, Client())
    browser = Client()
    _, auth = stored_login(lms, browser)
    browser.cookies.pop(STATE_COOKIE)
    token = lms.sign(lms.claims(nonce=auth["nonce"], sub="teacher-1", roles=[INSTRUCTOR]))
    response = browser.post("/lti/launch/", {"id_token": token, "state": auth["state"], "lti_storage_state":
                                             other["value"]}, headers={"Origin": "http://testserver"})
    assert response.status_code == 403


def test_a_login_in_a_frame_without_storage_offers_a_new_tab(lms):
    response = Client().get("/lti/login/", {"iss": lms.issuer, "client_id": lms.client_id, "login_hint": "ada",
                                            "lti_message_hint": "m-1"}, headers={"Sec-Fetch-Dest": "iframe"})
    data = storage_data(response)
    new_tab = re.search(r'href="([^"]*)"[^>]*id="open-new-tab"', response.content.decode())
    assert data["mode"] == "check"
    assert new_tab is not None
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(new_tab.group(1).replace("&amp;", "&")).query))
    assert query == {"iss": lms.issuer, "client_id": lms.client_id, "login_hint": "ada", "lti_message_hint": "m-1"}


# -- teaching assistants and the LMS's test student ------------------------------------------------------------------
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"


def test_a_teaching_assistant_sees_dashboards_but_not_settings_or_roster(lms):
    _, teacher = launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    course = ContextLink.objects.get().course
    Assignment.objects.create(course=course, slug="qlearning-cliffwalking", title="Q-learning")
    ta, _ = launched(lms, sub="ta-1", roles=[TA, INSTRUCTOR])
    assert Enrolment.objects.get(user__lti_identities__subject="ta-1").role == Enrolment.TA
    assert ta.get(f"/c/{course.slug}/qlearning-cliffwalking/dashboard/").status_code == 200
    assert ta.get(f"/c/{course.slug}/gradebook.csv").status_code == 200
    assert ta.get(f"/c/{course.slug}/qlearning-cliffwalking/settings/").status_code == 403
    assert ta.get(f"/c/{course.slug}/roster/").status_code == 403


def test_the_lms_s_test_student_is_never_counted(lms):
    teacher, _ = launched(lms, sub="teacher-1", roles=[INSTRUCTOR])
    course = ContextLink.objects.get().course
    launched(lms, sub="preview-1", roles=[LEARNER, TEST_USER])
    launched(lms, sub="student-1", roles=[LEARNER])
    gradebook = teacher.get(f"/c/{course.slug}/gradebook.csv").content.decode()
    preview = Identity.objects.get(subject="preview-1").user
    assert Enrolment.objects.get(user=preview).preview is True
    assert course.role_of(preview) == Enrolment.STUDENT
    assert preview.username not in gradebook
    assert Identity.objects.get(subject="student-1").user.username in gradebook
