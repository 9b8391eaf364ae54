"""The errors a handler raises for the client to act on; `runtime.http.api` renders them as
`{"error": message, "fields": {...}}` JSON with their status and headers. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
]


class ApiError(Exception):
    """An error the client can act on; rendered as JSON with `status`."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    """400: the request is malformed; `fields` maps field name -> what was expected."""

    status = 400


class NotFound(ApiError):
    """404: the resource does not exist."""

    status = 404


class Conflict(ApiError):
    """409: the request conflicts with the current state."""

    status = 409


class TooManyRequests(ApiError):
    """429: rate limited; retry after `retry_after_s` seconds."""

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))})


class PayloadTooLarge(ApiError):
    """413: the body is larger than the application accepts."""

    status = 413


class ServiceUnavailable(ApiError):
    """503: a dependency is down; retry later."""

    status = 503
