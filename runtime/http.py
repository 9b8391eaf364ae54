"""HTTP edges shared by the reference services: JSON errors, input parsing, health, serving.

Handlers raise `ApiError` subclasses; the `api` decorator turns them (and database
outages) into JSON responses: 400 with field errors, 404, 409, 429 with Retry-After, and
503 with Retry-After when the database is unreachable. The decorator is one extra call a
request; no middleware is involved.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from collector.gc_tuning import settle_heap
from runtime.database import Database, is_unavailable

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "NotFound",
    "ServiceUnavailable",
    "TooManyRequests",
    "add_health_routes",
    "api",
    "json_body",
    "json_error",
    "path_int",
    "query_float",
    "query_int",
    "serve",
]

log = logging.getLogger("loadwatch.services")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_DB_RETRY_AFTER_S = 5


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


class ServiceUnavailable(ApiError):
    """503: a dependency is down; retry later."""

    status = 503


def json_error(
    status: int,
    message: str,
    *,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """`{"error": message, "fields": {...}}` with the status and extra headers."""
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = dict(fields)
    return web.json_response(body, status=status, headers=headers)


def api(handler: Handler) -> Handler:
    """Translate ApiError and database outages of `handler` into JSON responses."""

    @functools.wraps(handler)
    async def translated(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return json_error(exc.status, exc.message, fields=exc.fields, headers=exc.headers)
        except web.HTTPException:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("database unavailable: %s", exc.__class__.__name__)
                return json_error(
                    503,
                    "the database is unreachable; retry later",
                    headers={"Retry-After": str(_DB_RETRY_AFTER_S)},
                )
            raise

    return translated


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or BadRequest saying what is wrong with it."""
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest(
            "the body is not valid JSON", fields={"body": "expected a JSON object"}
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", fields={"body": "expected an object"})
    return body


def _int(raw: str | None, name: str, minimum: int, maximum: int) -> int:
    if raw is None:
        raise BadRequest(f"{name} is required", fields={name: "required"})
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(
            f"{name}: expected an integer, got {raw[:50]!r}",
            fields={name: f"expected an integer between {minimum} and {maximum}"},
        ) from None
    if not minimum <= value <= maximum:
        raise BadRequest(
            f"{name}: expected {minimum}..{maximum}, got {value}",
            fields={name: f"expected an integer between {minimum} and {maximum}"},
        )
    return value


def path_int(request: web.Request, name: str, maximum: int = 2**62) -> int:
    """A positive integer path parameter."""
    return _int(request.match_info.get(name), name, 1, maximum)


def query_int(
    request: web.Request,
    name: str,
    *,
    minimum: int = 1,
    maximum: int = 2**62,
    default: int | None = None,
) -> int:
    """An integer query parameter (required unless `default` is given)."""
    raw = request.query.get(name)
    if raw is None and default is not None:
        return default
    return _int(raw, name, minimum, maximum)


def query_float(request: web.Request, name: str, *, default: float | None = None) -> float:
    """A finite float query parameter (required unless `default` is given)."""
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise BadRequest(f"{name} is required", fields={name: "required"})
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(
            f"{name}: expected a number, got {raw[:50]!r}",
            fields={name: "expected a finite number"},
        )
    return value


def add_health_routes(app: web.Application, database: Callable[[], Database | None] | None) -> None:
    """GET /healthz (the process is alive) and GET /readyz (the database answers).

    Pass `database=None` for a service without a database: ready once it serves.
    """

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(request: web.Request) -> web.Response:
        if database is None:
            return web.json_response({"status": "ready"})
        db = database()
        if db is None or not await db.ping():
            return json_error(503, "the database is unreachable", headers={"Retry-After": "5"})
        return web.json_response({"status": "ready"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def serve(
    app: web.Application,
    host: str,
    port: int,
    shutdown_timeout_s: float,
    *,
    backlog: int = 4096,
) -> None:
    """Run until SIGINT/SIGTERM, then stop accepting and drain in-flight requests.

    Uses uvloop when installed. In-flight requests get `shutdown_timeout_s` seconds to
    finish before they are cancelled. `backlog`: the listen queue (aiohttp's default, 128,
    drops connections when thousands of clients connect within a second).
    """

    async def settle(_: web.Application) -> None:
        settle_heap()

    app.on_startup.append(settle)  # last: after the app's own start-up work
    loop = None
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        pass
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=shutdown_timeout_s,
        backlog=backlog,
        access_log=None,
        loop=loop,
        print=lambda message: print(message, flush=True),
    )
