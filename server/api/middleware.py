"""Errors under /api/ that Django itself answers (a path the API does not have, a method an endpoint
does not take, a server error) in the API's own shape: ``{"code", "message"}``."""
from server.api.errors import error_response

CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "not_allowed",
         411: "bad_request", 413: "too_large", 429: "rate_limited"}
MESSAGES = {404: "The API has no such path: see /api/v1/docs.", 405: "This path does not take that method.",
            500: "The server failed to answer this request; it has been logged."}


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (not request.path.startswith("/api/") or response.status_code < 400
                or response.get("Content-Type", "").startswith("application/json")):
            return response
        status = response.status_code
        json = error_response(CODES.get(status, "server_error" if status >= 500 else "bad_request"),
                              MESSAGES.get(status, "The request was refused."), status=status)
        for header in ("Allow", "Retry-After"):
            if header in response:
                json[header] = response[header]
        return json
