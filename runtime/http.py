"""HTTP edges shared by the running services: JSON errors, input parsing, health, serving.

Handlers raise `ApiError` subclasses; the `api` decorator turns them (and database
outages) into JSON responses: 400 with field errors, 404, 409, 413, 429 with Retry-After,
and 503 with Retry-After when the database is unreachable. The decorator is one extra call
a request; no middleware is involved. `add_json_errors` gives the 4xx/5xx that aiohttp
answers itself (404 and 405 of unmatched requests) the same `{"error": ...}` shape.

Input is checked against what the databases store, not only what Python parses: ids fit
the INTEGER columns (int32 on PostgreSQL, `MAX_ID`), and JSON strings hold neither lone
surrogates (not encodable as UTF-8) nor NUL (PostgreSQL text refuses it).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from collector import conventions as names
from collector.gc_tuning import settle_heap
from runtime.database import Database, is_unavailable
from runtime.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
)
from runtime.schema import Integer, Number, Param

__all__ = [
    "MAX_ID",
    "MAX_JSON_DEPTH",
    "ApiError",
    "BadRequest",
    "Conflict",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "add_health_routes",
    "add_json_errors",
    "api",
    "json_body",
    "json_error",
    "listen_problem",
    "parse_json_object",
    "path_int",
    "query_float",
    "query_int",
    "serve",
]

log = logging.getLogger("loadwatch.services")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_DB_RETRY_AFTER_S = 5
MAX_ID = 2**31 - 1
"""The largest id a request may name: ids are INTEGER columns, int32 on PostgreSQL."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a JSON body may have (ours need 2)."""
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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
    """The request's JSON object, or an ApiError (400, 413) saying what is wrong with it."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size
        raise PayloadTooLarge(
            f"the body is larger than {limit} bytes",
            fields={"body": f"expected at most {limit} bytes"},
        ) from None
    return parse_json_object(raw)


class _NotJson(ValueError):
    """A JSON text the standard parser accepts but JSON (RFC 8259) does not."""


def _reject_constant(name: str) -> None:
    raise _NotJson(f"{name} is not a JSON value")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """`raw` as a JSON object whose strings a database can store; else BadRequest.

    Every failure of the parser becomes a 400 with the reason: bytes that are not UTF-8,
    syntax errors, NaN/Infinity, integers longer than Python converts (4,300 digits),
    nesting deeper than MAX_JSON_DEPTH, and strings (keys included) holding a lone
    surrogate or NUL. Pure; O(len(raw)).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_body(f"the body is not UTF-8 (byte {exc.start} is invalid)") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _bad_body(f"the body is not valid JSON: {exc.msg} at char {exc.pos}") from None
    except _NotJson as exc:
        raise _bad_body(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _bad_body(f"the body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # an integer beyond sys.get_int_max_str_digits()
        raise _bad_body(
            f"the body holds an integer of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", fields={"body": "expected an object"})
    _check_storable(body)
    return body


def _bad_body(reason: str) -> BadRequest:
    return BadRequest(reason, fields={"body": "expected a JSON object"})


def _check_storable(body: dict[str, Any]) -> None:
    """Raise BadRequest for nesting beyond MAX_JSON_DEPTH or an unstorable string."""
    stack: list[tuple[object, str, int]] = [(body, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise BadRequest(
                    f"{path or 'body'}: a string holds NUL or a lone surrogate",
                    fields={path or "body": "expected text without NUL or lone surrogates"},
                )
            continue
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise _bad_body(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else key
                stack.append((key, name, depth))
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def path_int(request: web.Request, name: str, maximum: int = MAX_ID) -> int:
    """A positive integer path parameter (an id: at most MAX_ID by default). New routes
    declare a `runtime.openapi.Operation` instead, which also documents the parameter."""
    value = Param(name, "path", Integer(1, maximum)).parse(request.match_info.get(name))
    assert isinstance(value, int)
    return value


def query_int(
    request: web.Request,
    name: str,
    *,
    minimum: int = 1,
    maximum: int = MAX_ID,
    default: int | None = None,
) -> int:
    """An integer query parameter (required unless `default` is given)."""
    param = Param(name, "query", Integer(minimum, maximum), default is None, default)
    value = param.parse(request.query.get(name))
    assert isinstance(value, int)
    return value


def query_float(request: web.Request, name: str, *, default: float | None = None) -> float:
    """A finite float query parameter (required unless `default` is given)."""
    value = Param(name, "query", Number(), default is None, default).parse(request.query.get(name))
    assert isinstance(value, float)
    return value


def add_json_errors(app: web.Application) -> None:
    """Answer the errors aiohttp makes itself (404 and 405 of unmatched requests, 413,
    a 500) as `{"error": ...}` JSON, like the handlers' own.

    A response-prepare hook: one coroutine call a response; only error responses that are
    not JSON yet are rewritten.
    """
    app.on_response_prepare.append(_json_error_hook)


async def _json_error_hook(request: web.Request, response: web.StreamResponse) -> None:
    if response.status < 400 or not isinstance(response, web.Response):
        return
    if response.content_type == "application/json":
        return
    if response.status == 404:
        message = f"no route matches {request.path[:200]!r}"
    elif response.status == 405:
        allowed = response.headers.get("Allow", "")
        message = f"method {request.method} is not allowed here; allowed: {allowed}"
    else:
        message = response.reason
    body = json.dumps({"error": message}).encode()
    response.body = body
    response.content_type = "application/json"
    if "Content-Length" in response.headers:  # already computed from the text body
        response.headers["Content-Length"] = str(len(body))


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

    app.router.add_get(names.HEALTHZ_PATH, healthz)
    app.router.add_get(names.READYZ_PATH, readyz)


def listen_problem(host: str, port: int) -> str | None:
    """Why `serve` could not listen on host:port, naming the value; None when it can.

    Resolves `host` (a name that does not resolve, or an invalid address) and binds, then
    closes, a socket on every address it resolves to, with SO_REUSEADDR as aiohttp does
    (a port in use, or an address of another machine). Another process may still take
    the port before `serve` binds it.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        return f"--host: cannot resolve {host!r} ({reason})"
    for family, kind, proto, _, address in addresses:
        shown = f"[{address[0]}]:{port}" if family == socket.AF_INET6 else f"{address[0]}:{port}"
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                return f"--host/--port: cannot listen on {shown}: {exc.strerror}"
    return None


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
