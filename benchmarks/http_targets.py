"""The hello endpoint four ways, for side-by-side wrk runs (one process each, uvloop).

    python -m benchmarks.http_targets --variant loadwatch --port 8101

Variants: `plain` (no instrumentation), `empty` (an aiohttp middleware that does nothing),
`prometheus` (a middleware recording a prometheus_client Histogram and Counter the usual
way) and `loadwatch` (`collector.instrument`).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from collector.conventions import duration_buckets
from collector.middleware import instrument
from collector.sla import default_sla

VARIANTS = ("plain", "empty", "prometheus", "loadwatch")


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def _prometheus_middleware(registry: CollectorRegistry) -> web.middleware:  # type: ignore[valid-type]
    buckets = duration_buckets(default_sla())
    hist = Histogram(
        "http_request_duration_seconds",
        "d",
        ["route", "method"],
        buckets=buckets,
        registry=registry,
    )
    count = Counter("http_requests", "n", ["route", "method", "code"], registry=registry)
    in_flight = Gauge("http_requests_in_flight", "n", registry=registry)

    @web.middleware
    async def measure(request: web.Request, handler):  # type: ignore[no-untyped-def]
        in_flight.inc()
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            route = request.match_info.route.resource
            template = route.canonical if route is not None else "unmatched"
            hist.labels(template, request.method).observe(time.perf_counter() - start)
            count.labels(template, request.method, str(status)).inc()
            in_flight.dec()

    return measure


@web.middleware
async def _empty(request: web.Request, handler):  # type: ignore[no-untyped-def]
    return await handler(request)


def make_app(variant: str) -> web.Application:
    """The hello app with the given instrumentation variant."""
    registry = CollectorRegistry()
    middlewares = []
    if variant == "empty":
        middlewares.append(_empty)
    elif variant == "prometheus":
        middlewares.append(_prometheus_middleware(registry))
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/hello", hello)
    if variant == "loadwatch":
        instrument(app, service="bench", sla=default_sla(), registry=registry)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        runner.run(_serve(make_app(args.variant), args.port))


async def _serve(app: web.Application, port: int) -> None:
    app_runner = web.AppRunner(app, access_log=None)
    await app_runner.setup()
    await web.TCPSite(app_runner, "127.0.0.1", port).start()
    print(f"ready {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
