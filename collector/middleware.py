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
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute, MatchInfoError, SystemRoute, UrlDispatcher
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
from collector.process_stats import ProcessSampler
from collector.recorder import RouteSeries
from collector.sla import SLA, resolve_sla

__all__ = ["INSTRUMENTATION_KEY", "instrument", "render_metrics"]

INSTRUMENTATION_KEY: web.AppKey[Instrumentation] = web.AppKey(
    "loadwatch_instrumentation", Instrumentation
)
_COLLECTOR_KEY: web.AppKey[SharedCollector] = web.AppKey("loadwatch_collector", SharedCollector)
_TICKER_KEY: web.AppKey[asyncio.Task[None]] = web.AppKey("loadwatch_ticker", asyncio.Task)
_CLIENT_CLOSED = 499
"""Status recorded when the client went away before the handler finished (nginx's 499)."""

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
            status = _CLIENT_CLOSED
            raise
        except Exception:
            series.exceptions += 1
            raise
        finally:
            record((status, perf_counter() - start))
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
            series.append((self._http_exception.status, 0.0))
            break
    raise self._http_exception


def _count_unmatched(router: UrlDispatcher, inst: Instrumentation) -> None:
    """Make requests no route matched count under the `<unmatched>` label.

    aiohttp answers them from a SystemRoute created per request; its handler is replaced
    once per process by one that records the status first (instant: the recorded duration
    is 0), so matched requests pay nothing. Should a future aiohttp not have that handler,
    the router's resolve is wrapped instead (one more coroutine call on every request).
    """
    if getattr(SystemRoute, "_handle", None) is _system_route_counted:
        return
    if callable(getattr(SystemRoute, "_handle", None)):
        SystemRoute._handle = _system_route_counted  # type: ignore[method-assign]
        return
    resolve = router.resolve

    async def resolve_counted(request: web.Request) -> Any:
        match_info = await resolve(request)
        if isinstance(match_info, MatchInfoError):
            series = inst.requests.series(names.UNMATCHED_ROUTE, _unmatched_method(request))
            route = match_info.route
            route._handler = _timed(route.handler, series, inst)  # type: ignore[assignment]
        return match_info

    router.resolve = resolve_counted  # type: ignore[method-assign]


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def render_metrics(
    registry: CollectorRegistry, collector: FamilyCollector, accept: str | None
) -> tuple[bytes, str]:
    """The registry in the format the scraper asked for: (body, content type)."""
    openmetrics = wants_openmetrics(accept)
    fast = collector.render_fast(openmetrics=openmetrics)
    with collector.skip_in_registry():
        rest = (generate_openmetrics if openmetrics else generate_text)(registry).decode()
    if openmetrics:
        rest = rest.removesuffix("# EOF\n")
        return (fast + rest + "# EOF\n").encode(), CONTENT_TYPE_OPENMETRICS
    return (fast + rest).encode(), CONTENT_TYPE_TEXT


async def _ticker(inst: Instrumentation, clock: Callable[[], float]) -> None:
    """Close a snapshot just after every wall-clock second boundary."""
    sampler = ProcessSampler()
    sampler.sample(clock())
    while True:
        now = clock()
        await asyncio.sleep(max(0.0, (int(now) + 1) - now) + 0.002)
        now = clock()
        inst.close_second(now, sampler.sample(now))


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
    feeds. Call before the application starts; once per app.
    """
    if INSTRUMENTATION_KEY in app:
        raise RuntimeError(
            f"application already instrumented as {app[INSTRUMENTATION_KEY].service!r}"
        )
    if not service or not isinstance(service, str):
        raise ValueError(f"service: expected a non-empty name, got {service!r}")
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
        snapshot = inst.latest
        if snapshot is None:
            return web.json_response(
                {"error": "no second has closed yet; retry in one second"},
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
        _count_unmatched(app.router, inst)
        app[_TICKER_KEY] = asyncio.get_running_loop().create_task(_ticker(inst, clock))

    async def on_cleanup(app: web.Application) -> None:
        task = app.get(_TICKER_KEY)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        collector.detach(inst)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return inst
