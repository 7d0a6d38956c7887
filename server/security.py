"""Defences around the views: the request body cap, the client address that login throttling counts
failures by, and the SQLite files kept private. docs/security.md says what holds where."""
import os
import stat

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat

# The JSON API's error codes (docs/api.md) for the refusals below, which it answers as JSON.
API_CODES = {400: "bad_request", 411: "bad_request", 413: "too_large"}


def _refusal(status: int, message: str, meta=None) -> HttpResponse:
    if meta is not None and (meta.get("PATH_INFO") or "").startswith("/api/"):
        return JsonResponse({"code": API_CODES[status], "message": message}, status=status)
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def body_refusal(meta, limit: int) -> HttpResponse | None:
    """The response that refuses a request by its headers alone (None when it may be read): a declared
    length above ``limit`` (413), or a body without a length (411: a chunked body is otherwise read to
    its end, or dropped, without anyone having said how long it may be)."""
    declared = (meta.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        if meta.get("HTTP_TRANSFER_ENCODING"):
            return _refusal(411, "Send the request with a Content-Length header: bodies of unknown length "
                              "(chunked) are not accepted.", meta)
        return None
    try:
        length = int(declared)
    except ValueError:
        length = -1
    if length < 0:
        return _refusal(400, f"The Content-Length header {declared[:40]!r} is not a length.", meta)
    if length > limit:
        return _refusal(413, f"The request is {filesizeformat(length)}; this site accepts at most "
                          f"{filesizeformat(limit)} in one request. An upload form states its own, "
                          "smaller, limit for files.", meta)
    return None


class RequestBodyLimitMiddleware:
    """Refuses a request whose body is larger than BELLMAN_MAX_REQUEST_BYTES before anything reads it:
    first in MIDDLEWARE, so that neither CSRF nor a login form parses (and spools to a temporary file)
    a body of any size. The upload views keep their own smaller limits and clearer messages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return body_refusal(request.META, settings.BELLMAN_MAX_REQUEST_BYTES) or self.get_response(request)


def client_ip(request) -> str | None:
    """The address login failures are counted for (django-axes' AXES_CLIENT_IP_CALLABLE). Behind the
    reverse proxy (BELLMAN_BEHIND_PROXY), the address the proxy puts last in X-Forwarded-For, which the
    client cannot choose; otherwise the connection's own address: a header is never trusted without a
    proxy that sets it."""
    if settings.BELLMAN_BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


def database_file_protect(sender, connection, **kwargs):
    """Keep an SQLite database, its write-ahead log and shared-memory index readable by their owner
    only (0600): SQLite creates them with the process's umask, often world-readable. Connected to
    connection_created; SQLite gives the -wal and -shm files the mode of the database file."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, name + "-wal", name + "-shm"):
        try:
            if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            continue


class InvalidId(BadRequest):
    """A form field that names a row by its id held something else: a 400 whose message says which field."""


def posted_id(request, field: str) -> int | None:
    """The id a POSTed form field names (None when the field is absent or empty); InvalidId (a 400 page that says
    which field) for anything but a positive integer, never a 500 from the database."""
    value = request.POST.get(field, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidId(f"The form field {field!r} must be a number (the id of a row), not {value[:40]!r}.")
    return int(value)


def bad_request(request, exception, template_name="400.html"):
    """Django's 400 page, with the message of an InvalidId (ours, and safe to show); nothing of other causes."""
    from django.shortcuts import render

    message = str(exception) if isinstance(exception, InvalidId) else ""
    return render(request, template_name, {"message": message}, status=400)
