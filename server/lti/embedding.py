"""Bellman's pages inside the LMS's iframe, for a user who arrived by an LTI launch.

A launch remembers the origin of the LMS page that posted it (the Origin header of the signed form post). The
pages an LMS embeds (a course, an assignment, a submission's results, the deep-linking picker) may then be framed
by that origin alone: the Content-Security-Policy's frame-ancestors names it and X-Frame-Options is left off for
them; every other page, and every other visitor, keeps frame-ancestors 'none'. Framed, Bellman's session needs
cookies a browser sends inside a third-party iframe: ``BELLMAN_LTI_EMBED=true`` (HTTPS only) makes the session
and CSRF cookies SameSite=None; Secure, and Partitioned (CHIPS), as browsers that block third-party cookies
accept them."""
import urllib.parse
from http.cookies import Morsel

from django.conf import settings

from server.lti import storage
from server.lti.launch import same_origin, url_allowed

SESSION_KEY = "lti_frame_origin"
EMBEDDED_PATHS = ("/c/", "/submissions/", "/lti/deep-link/")
PARTITIONED_COOKIES = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)


def remember_origin(request) -> None:
    """At a valid launch: the origin of the LMS page that posted it, when it is one a platform may have."""
    origin = request.headers.get("Origin", "")
    if same_origin(request):  # the second step of a launch through the LMS's storage: its first step's origin
        origin = storage.frame_origin(request)
    parts = urllib.parse.urlsplit(origin)
    if origin and url_allowed(origin) and not parts.path.strip("/") and parts.netloc:
        request.session[SESSION_KEY] = f"{parts.scheme}://{parts.netloc}"


class PartitionedMorsel(Morsel):
    """A cookie with the Partitioned attribute (CHIPS), which Python's http.cookies learns only in 3.14."""

    def OutputString(self, attrs=None):  # noqa: N802 - http.cookies' name
        return super().OutputString(attrs) + "; Partitioned"


def partitioned(morsel: Morsel) -> PartitionedMorsel:
    copy = PartitionedMorsel()
    copy.set(morsel.key, morsel.value, morsel.coded_value)
    copy.update({k: v for k, v in morsel.items() if v})
    copy["samesite"], copy["secure"] = "None", True
    return copy


class LmsFramingMiddleware:
    """Lets the LMS that launched this session frame the pages it embeds (see the module's docstring). Listed after
    CSPMiddleware and XFrameOptionsMiddleware, so that it answers before them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        origin = getattr(request, "session", None) and request.session.get(SESSION_KEY)
        if origin and request.path.startswith(EMBEDDED_PATHS):
            response._csp_replace = {"frame-ancestors": ["'self'", origin]}  # django-csp
            response.xframe_options_exempt = True
        return response


class EmbeddableCookiesMiddleware:
    """With BELLMAN_LTI_EMBED, the session and CSRF cookies as a browser sends them inside a third-party iframe.
    Listed before SessionMiddleware, so that it sees the cookies the session and CSRF middleware set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.BELLMAN_LTI_EMBED:
            for name in PARTITIONED_COOKIES:
                morsel = response.cookies.get(name)
                if morsel is not None:
                    dict.__setitem__(response.cookies, name, partitioned(morsel))
        return response
