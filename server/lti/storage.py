"""The LTI client-side postMessage storage (1EdTech "LTI Client Side postMessages", "OIDC Login with LTI Client
Side postMessages"). A browser that keeps no cookie for Bellman inside the LMS's iframe (third-party cookies
blocked, partitioned ones unsupported) loses the login's state between the login and the launch. When the LMS
names a storage frame (``lti_storage_target``), the login's signed state is put there as well as in the cookie;
a launch that arrives without the cookie reads it back in the browser (bellman-lti-storage.js) and posts it to
/lti/launch/ from Bellman's own page (its Origin checked: launch.same_origin), where it is checked as the cookie
would be. The storage answers only Bellman's origin, so another site can read nothing from it, and the nonce is
still used once."""
import re
import urllib.parse

import jwt
from django.core import signing
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from server.lti.launch import STATE_COOKIE, read_state_cookie, url_allowed
from server.lti.models import Platform

FRAME_ORIGIN_SALT = "lti-frame-origin"
FRAME_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def target(params) -> str:
    """The storage frame the LMS names (a frame name, or _parent), or "" when it offers none."""
    name = params.get("lti_storage_target", "")
    return name if FRAME_NAME.match(name) else ""


def origin(platform: Platform) -> str:
    """The storage frame's origin: the platform's authorisation endpoint's (the specification's choice)."""
    parts = urllib.parse.urlsplit(platform.auth_login_url)
    return f"{parts.scheme}://{parts.netloc}"


def frame_origin(request) -> str:
    """The origin of the LMS page that framed a launch's first step (carried, signed, through its second)."""
    try:
        return signing.loads(request.POST.get("lti_frame_origin", ""), salt=FRAME_ORIGIN_SALT, max_age=600)
    except signing.BadSignature:
        return ""


def key(state: str) -> str:
    return f"state_{state}"


def page(request, data: dict, **context):
    """The page that talks to the storage frame. It runs inside the LMS's iframe, whose page's origin Bellman does
    not know before the launch: any HTTPS page may frame it (it offers nothing to click, and its messages go to
    the platform's origin alone)."""
    response = render(request, "lti/storage.html", {"storage": data, **context})
    response._csp_replace = {"frame-ancestors": ["https:"] + (["http:"] if not request.is_secure() else [])}
    response.xframe_options_exempt = True
    return response


def launch_page(request):
    """At /lti/launch/: when the state cookie is missing and the LMS offered its storage, the page that reads the
    state back and posts the launch again with it; else None (the launch goes on as usual)."""
    name = target(request.POST)
    state = request.POST.get("state", "")
    if not name or not state or "lti_storage_state" in request.POST:
        return None
    login = read_state_cookie(request.COOKIES.get(STATE_COOKIE))
    if login is not None and login.get("state") == state:
        return None
    try:
        issuer = jwt.decode(request.POST.get("id_token", ""), options={"verify_signature": False}).get("iss")
    except (jwt.InvalidTokenError, AttributeError):
        return None  # the launch's checks say what is wrong with it
    platform = Platform.objects.filter(issuer=issuer, approved=True).exclude(auth_login_url="").first() if isinstance(
        issuer, str) else None
    if platform is None or not url_allowed(platform.auth_login_url):
        return None
    fields = {"id_token": request.POST["id_token"], "state": state, "lti_storage_target": name,
              # the LMS page's origin, which posted this step: the next one comes from Bellman's own page
              "lti_frame_origin": signing.dumps(request.headers.get("Origin", ""), salt=FRAME_ORIGIN_SALT)}
    return page(request, {"mode": "get", "target": name, "origin": origin(platform), "key": key(state)},
                fields=fields)


def login_page(request, params, platform: Platform, state: str, blob: str, auth_url: str):
    """The login's answer: straight to the LMS's authorisation, or, inside a frame, a page that keeps the state in
    the LMS's storage (when it offers one) or checks that the frame keeps cookies, with an "open in a new tab"
    fallback (the same login, where Bellman's cookies are first-party)."""
    name = target(params)
    framed = request.headers.get("Sec-Fetch-Dest") == "iframe"
    if not name and not framed:
        return HttpResponseRedirect(auth_url)
    new_tab = request.build_absolute_uri(reverse("lti_login")) + "?" + urllib.parse.urlencode(
        {k: v for k, v in params.items() if k != "lti_storage_target"})
    data = {"mode": "check", "next": auth_url}
    if name:
        data.update(mode="put", target=name, origin=origin(platform), key=key(state), value=blob)
    return page(request, data, new_tab=new_tab)
