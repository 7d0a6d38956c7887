"""The JSON API under /api/v1/ (django-ninja): its schema at /api/v1/schema, its docs at /api/v1/docs.

Every error is ``{"code", "message"}`` (errors.py); the handlers below turn ninja's own exceptions
(no credentials, a failed CSRF check, bad parameters, a throttle) into those codes.
"""
import logging

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from server.api.auth import NEW_TOKEN, authenticators, throttles
from server.api.endpoints import router
from server.api.errors import ApiError, error_response

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="Bellman API", version="1", urls_namespace="api", openapi_url="/schema", docs_url="/docs",
    description="Courses, assignments and submissions of Bellman, the autograder. Authenticate with a personal "
                "token (`Authorization: Bearer <token>`, created on /account/tokens/). docs/api.md describes "
                "every endpoint, its errors and its limits.",
    auth=authenticators(), throttle=throttles("BELLMAN_API_RATE_READ"))
api.add_router("", router)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(exc.code, exc.message, status=exc.status, retry_after=exc.retry_after)


@api.exception_handler(AuthenticationError)
def _not_authenticated(request, exc):
    return error_response("not_authenticated", f"Log in, or send a personal token. {NEW_TOKEN}")


@api.exception_handler(Throttled)
def _throttled(request, exc: Throttled):
    wait = f" Try again in {max(1, round(exc.wait))} s." if exc.wait else ""
    return error_response("rate_limited", f"Too many requests for now.{wait}")


@api.exception_handler(ValidationError)
def _bad_request(request, exc: ValidationError):
    parts = []
    for error in exc.errors:
        where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    if any(e.get("loc", ())[1:2] == ("file",) for e in exc.errors):
        parts.append("Send the file as the multipart/form-data field 'file'.")
    return error_response("bad_request", "; ".join(parts) or "The request is not valid.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 403 and "CSRF" in exc.message:
        return error_response("forbidden", "CSRF check failed: a request made with the site's session cookie "
                                           "must carry its CSRF token (X-CSRFToken). Scripts send a token instead.")
    code = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
            413: "too_large", 429: "rate_limited"}.get(exc.status_code, "bad_request")
    return error_response(code, exc.message, status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response("not_found", "Not found.")


@api.exception_handler(Exception)
def _server_error(request, exc):
    if settings.DEBUG:
        raise exc
    log.exception("API request %s %s failed", request.method, request.path)
    return error_response("server_error", "The server failed to answer this request; it has been logged.")
