"""Who is calling: a personal token (``Authorization: Bearer <token>``) or the browser's session.

A request that carries an Authorization header is judged by it alone: a bad token is refused, never
passed over for the session cookie that may come with it. The session serves the site's own pages
(ninja checks CSRF on its unsafe methods); a token needs no CSRF token, since a browser never sends
one by itself.
"""
import logging

from django.conf import settings
from ninja.security import SessionAuth
from ninja.security.http import HttpBearer
from ninja.throttling import SimpleRateThrottle

from server.api import tokens
from server.api.errors import ApiError

log = logging.getLogger(__name__)
NEW_TOKEN = "Create one on your account page (/account/tokens/) and send it as 'Authorization: Bearer <token>'."


class TokenAuth(HttpBearer):
    def __call__(self, request):
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError("token_invalid", f"The Authorization header is not a bearer token. {NEW_TOKEN}")
        return self.authenticate(request, value.strip())

    def authenticate(self, request, token):
        found = tokens.token_lookup(token)
        if found is None or not found.user.is_active:
            raise ApiError("token_invalid", f"This token is not valid. {NEW_TOKEN}")
        if found.is_revoked:
            raise ApiError("token_revoked", f"This token ({found.prefix}…, \"{found.name}\") was revoked. {NEW_TOKEN}")
        if found.is_expired():
            raise ApiError("token_expired", f"This token ({found.prefix}…, \"{found.name}\") expired on "
                                            f"{found.expires_at:%d %b %Y %H:%M} UTC. {NEW_TOKEN}")
        tokens.token_touch(found)
        request.api_token = found
        return found.user


def authenticators() -> list:
    return [TokenAuth(), SessionAuth()]


class RateThrottle(SimpleRateThrottle):
    """At most the rate in setting ``setting`` (e.g. "60/min") per user, or per token (``by="token"``,
    not counted for the session). Several tokens of one user share the user's budget. The rate is read
    from settings on each request, never at import time. Counts live in Django's cache (``CACHES``).
    As ninja's throttles, an instance is shared by every request of its process: exact under gunicorn's
    sync workers (one request at a time); a threaded server may interleave two requests' counts."""

    def __init__(self, setting: str, *, by: str = "user"):  # no super().__init__(): it would read the rate now
        self.setting, self.by = setting, by

    def allow_request(self, request) -> bool:
        self.rate = getattr(settings, self.setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request)
        except Exception as exc:  # noqa: BLE001 - a cache that is down must not refuse a student's submission
            log.warning("API rate not counted (%s: %s); request let through", type(exc).__name__, exc)
            self.history = []
            return True

    def get_cache_key(self, request):
        if self.by == "token":
            token = getattr(request, "api_token", None)
            ident = None if token is None else f"token-{token.pk}"
        else:
            user = getattr(request, "auth", None)
            ident = None if user is None else f"user-{user.pk}"
        return None if ident is None else f"bellman-api-{self.setting}-{ident}"


def throttles(setting: str) -> list:
    return [RateThrottle(setting, by="user"), RateThrottle(setting, by="token")]
