"""The API's errors: always JSON ``{"code": ..., "message": ...}``, with a status a script can act on.

The codes are a contract (docs/api.md lists them); a message is for a person and may change.
"""
from django.http import JsonResponse

STATUS = {
    "not_authenticated": 401, "token_invalid": 401, "token_revoked": 401, "token_expired": 401,
    "forbidden": 403, "closed": 403,
    "not_found": 404, "not_allowed": 405,
    "bad_request": 400, "bad_file": 400,
    "too_large": 413,
    "limit_reached": 429, "rate_limited": 429,
    "server_error": 500,
}


class ApiError(Exception):
    """An answer other than success: ``code`` (one of STATUS), a message for a person, and headers
    (Retry-After) where the client should wait."""

    def __init__(self, code: str, message: str, *, status: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or STATUS[code]
        self.retry_after = retry_after


def error_response(code: str, message: str, *, status: int | None = None,
                   retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message}, status=status or STATUS[code])
    if retry_after is not None:
        response["Retry-After"] = str(max(1, int(retry_after)))
    return response
