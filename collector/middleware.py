"""aiohttp instrumentation without a middleware: each route's handler is wrapped once.

    app = web.Application()
    app.router.add_get("/courses/{course_id}", get_course)
    instrument(app, service="course")          # serves /metrics and /live/snapshot

aiohttp's middleware chain costs ~2.5 us a request before any work; wrapping the handlers
when the application starts costs one coroutine call. Requests that match no route (404,
405) are counted under the single route label `<unmatched>` by aiohttp's own error route,
so matched requests pay nothing for that (see `_count_unmatched`). The wrapper records into a
`RouteSeries` (one list append, ~0.1 us); everything else happens in bulk at scrape time
or once a second.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter

import aiohttp
from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute, SystemRoute
from prometheus_client import REGISTRY
from prometheus_client import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import CollectorRegistry

from collector import conventions as names
from collector.exposition import (
    CONTENT_TYPE_OPENMETRICS,
    CONTENT_TYPE_TEXT,
    FamilyCollector,
    wants_openmetrics,
)
from collector.instrumentation import Instrumentation, SharedCollector, shared_collector
from collector.protobuf_exposition import (
    CONTENT_TYPE_PROTOBUF,
    encode_client_metrics,
    encode_families,
    wants_protobuf,
)
from collector.recorder import RouteSeries
from collector.sla import SLA, resolve_sla
from collector.ticker import Ticker

__all__ = [
    "INSTRUMENTATION_KEY",
    "SUPPORTED_AIOHTTP",
    "check_system_route",
    "instrument",
    "render_metrics",
]

_log = logging.getLogger(__name__)

INSTRUMENTATION_KEY: web.AppKey[Instrumentation] = web.AppKey(
    "loadwatch_instrumentation", Instrumentation
)
_COLLECTOR_KEY: web.AppKey[SharedCollector] = web.AppKey("loadwatch_collector", SharedCollector)
_TICKER_KEY: web.AppKey[asyncio.Task[None]] = web.AppKey("loadwatch_ticker", asyncio.Task)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TIMED_MARK = "_loadwatch_timed"
"""Attribute set on our wrappers, so a route is never wrapped twice (functools.wraps'
`__wrapped__` cannot tell: decorated handlers have it too)."""


def _timed(handler: Handler, series: RouteSeries, inst: Instrumentation) -> Handler:
    recorder = inst.requests
    record = series.append

    async def timed(request: web.Request) -> web.StreamResponse:
        recorder.in_flight += 1
        start = perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = names.CLIENT_CLOSED_CODE
            raise
        except Exception:
            series.exceptions += 1
            raise
        finally:
            end = perf_counter()
            record((status, end - start, end))
            recorder.in_flight -= 1

    timed.__wrapped__ = handler  # type: ignore[attr-defined]
    setattr(timed, _TIMED_MARK, True)
    return timed


def _route_template(route: AbstractRoute) -> str:
    info = route.resource.get_info() if route.resource is not None else {}
    template = info.get("formatter") or info.get("path") or info.get("prefix")
    if template is None:
        return route.resource.canonical if route.resource is not None else names.UNMATCHED_ROUTE
    if "prefix" in info and "formatter" not in info and "path" not in info:
        return f"{template}/{{filename}}"
    return str(template)


def _wrap_routes(app: web.Application, inst: Instrumentation) -> None:
    own = {names.METRICS_PATH, names.LIVE_SNAPSHOT_PATH}
    for route in app.router.routes():
        template = _route_template(route)
        if template in own or getattr(route.handler, _TIMED_MARK, False):
            continue
        series = inst.requests.series(template, route.method)
        route._handler = _timed(route.handler, series, inst)  # type: ignore[assignment]
    for resource in app.router.resources():
        sub_app = getattr(resource, "_app", None)
        if isinstance(sub_app, web.Application):
            _wrap_routes(sub_app, inst)


def _unmatched_method(request: web.Request) -> str:
    return request.method if request.method in _KNOWN_METHODS else "OTHER"


async def _system_route_counted(self: SystemRoute, request: web.Request) -> web.StreamResponse:
    """aiohttp's SystemRoute handler (raise the 404/405 of a request no route matched),
    first recorded under `<unmatched>` by the innermost instrumented app of the request."""
    for app in reversed(request.match_info.apps):
        inst = app.get(INSTRUMENTATION_KEY)
        if inst is not None:
            series = inst.requests.series(names.UNMATCHED_ROUTE, _unmatched_method(request))
            series.append((self._http_exception.status, 0.0, perf_counter()))
            break
    raise self._http_exception


SUPPORTED_AIOHTTP = ">=3.10,<3.15"
"""aiohttp versions whose SystemRoute this module's patch was checked against (the same
range is pinned in pyproject.toml)."""


def check_system_route(route_class: type[SystemRoute] = SystemRoute) -> None:
    """Fail loudly unless aiohttp's private SystemRoute is shaped as the patch expects.

    The patch replaces `SystemRoute._handle`, which a SystemRoute binds as its handler when
    constructed (aiohttp builds one per unmatched request) and which raises the route's
    `_http_exception`. Raises RuntimeError naming the aiohttp version and what differs.
    """
    problem = _system_route_problem(route_class)
    if problem is not None:
        raise RuntimeError(
            f"loadwatch counts unmatched requests by patching aiohttp's private "
            f"SystemRoute._handle, and aiohttp {aiohttp.__version__} changed it: {problem}. "
            f"Install aiohttp{SUPPORTED_AIOHTTP} (the range loadwatch supports)."
        )


def _system_route_problem(route_class: type[SystemRoute]) -> str | None:
    handle = inspect.getattr_static(route_class, "_handle", None)
    if handle is not _system_route_counted:
        if handle is None or not inspect.iscoroutinefunction(handle):
            return "SystemRoute._handle is no longer a coroutine function of the class"
        if list(inspect.signature(handle).parameters) != ["self", "request"]:
            return f"SystemRoute._handle{inspect.signature(handle)} is not (self, request)"
    try:
        route = route_class(web.HTTPNotFound())
    except Exception as exc:
        return f"SystemRoute(HTTPNotFound()) raised {exc!r}"
    if getattr(route.handler, "__func__", None) is not handle:
        return "a new SystemRoute no longer takes its class's _handle as its handler"
    if getattr(route, "_http_exception", None) is None:
        return "a SystemRoute no longer keeps its exception in _http_exception"
    return None


def _count_unmatched() -> None:
    """Make requests no route matched count under the `<unmatched>` label.

    aiohttp answers them from a SystemRoute created per request; its handler is replaced
    once per process by one that records the status first (instant: the recorded duration
    is 0), so matched requests pay nothing. `check_system_route` runs before and after.
    """
    check_system_route()
    if inspect.getattr_static(SystemRoute, "_handle") is not _system_route_counted:
        SystemRoute._handle = _system_route_counted  # type: ignore[method-assign]
        check_system_route()


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def render_metrics(
    registry: CollectorRegistry, collector: FamilyCollector, accept: str | None
) -> tuple[bytes, str]:
    """The registry in the format the scraper asked for: (body, content type).

    Protobuf when asked for (Prometheus lists it only with native histograms on, and first):
    the one format that carries the native histogram, so every family goes into it.
    """
    if wants_protobuf(accept):
        body = collector.encode(encode_families)
        with collector.skip_in_registry():
            body += encode_client_metrics(registry.collect())
        return body, CONTENT_TYPE_PROTOBUF
    openmetrics = wants_openmetrics(accept)
    fast = collector.render_fast(openmetrics=openmetrics)
    with collector.skip_in_registry():
        rest = (generate_openmetrics if openmetrics else generate_text)(registry).decode()
    if openmetrics:
        rest = rest.removesuffix("# EOF\n")
        return (fast + rest + "# EOF\n").encode(), CONTENT_TYPE_OPENMETRICS
    return (fast + rest).encode(), CONTENT_TYPE_TEXT


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.critical("the loadwatch ticker stopped", exc_info=task.exception())


def instrument(
    app: web.Application,
    *,
    service: str,
    sla: SLA | None = None,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], float] = time.time,
    sla_search_from: Path | None = None,
) -> Instrumentation:
    """Instrument every route of `app` (including routes added later, before start-up).

    Without `sla`, the nearest sla.yaml from `sla_search_from` (default: the working
    directory) is used, else the built-in defaults. Without `registry`, the default one.
    Adds GET /metrics and GET /live/snapshot. Returns the service's `Instrumentation`
    (also at `app[INSTRUMENTATION_KEY]`), whose `cache` and `pool_sources` the service
    feeds. Call before the application starts; once per app. Raises RuntimeError when the
    installed aiohttp's SystemRoute is not the one the unmatched-request count patches.

    GET /live/snapshot answers the last closed second; with `?after=<timestamp_s>` the
    oldest of the last 60 closed seconds after that time (503 + Retry-After: 1 until one
    exists, and while no ticker runs).
    """
    if INSTRUMENTATION_KEY in app:
        raise RuntimeError(
            f"application already instrumented as {app[INSTRUMENTATION_KEY].service!r}"
        )
    if not service or not isinstance(service, str):
        raise ValueError(f"service: expected a non-empty name, got {service!r}")
    _count_unmatched()
    resolved_sla = sla if sla is not None else resolve_sla(cwd=sla_search_from)
    inst = Instrumentation(service, resolved_sla)
    target = registry if registry is not None else REGISTRY
    collector = shared_collector(target)
    collector.attach(inst)
    app[INSTRUMENTATION_KEY] = inst
    app[_COLLECTOR_KEY] = collector

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = render_metrics(target, collector, request.headers.get("Accept"))
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def live_snapshot(request: web.Request) -> web.Response:
        task = app.get(_TICKER_KEY)
        if task is not None and task.done():
            return web.json_response(
                {"error": "the 1 Hz ticker has stopped; snapshots are no longer current"},
                status=503,
            )
        raw_after = request.query.get(names.LIVE_SNAPSHOT_AFTER)
        if raw_after is None:
            snapshot = inst.latest
        else:
            try:
                after = float(raw_after)
            except ValueError:
                after = math.nan
            if not math.isfinite(after):
                return web.json_response(
                    {
                        "error": f"{names.LIVE_SNAPSHOT_AFTER}: expected a timestamp_s in "
                        f"Unix seconds, got {raw_after!r}"
                    },
                    status=400,
                )
            snapshot = inst.snapshot_after(after)
        if snapshot is None:
            return web.json_response(
                {"error": "no newer second has closed yet; retry in one second"},
                status=503,
                headers={"Retry-After": "1"},
            )
        return web.Response(
            text=json.dumps(snapshot.to_dict(), separators=(",", ":")),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    app.router.add_get(names.METRICS_PATH, metrics)
    app.router.add_get(names.LIVE_SNAPSHOT_PATH, live_snapshot)

    async def on_startup(app: web.Application) -> None:
        _wrap_routes(app, inst)
        ticker = Ticker(inst, clock=clock, monotonic=perf_counter)
        task = asyncio.get_running_loop().create_task(ticker.run())
        task.add_done_callback(_log_unexpected_end)
        app[_TICKER_KEY] = task

    async def on_cleanup(app: web.Application) -> None:
        task = app.get(_TICKER_KEY)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        collector.detach(inst)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return inst
