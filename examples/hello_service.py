"""The smallest instrumented aiohttp service: three routes, metrics and live snapshots.

    python -m examples.hello_service --port 8080
    curl -s localhost:8080/hello; curl -s localhost:8080/metrics | grep loadwatch_http

It is also what `make demo` starts until the load-test runner lands.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
from prometheus_client.registry import CollectorRegistry

from collector import instrument
from collector.sla import SLA

__all__ = ["make_app"]


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def get_item(request: web.Request) -> web.Response:
    item_id = request.match_info["item_id"]
    if not item_id.isdigit():
        raise web.HTTPBadRequest(text=f"item_id: expected digits, got {item_id!r}")
    return web.json_response({"id": int(item_id)})


async def slow(request: web.Request) -> web.Response:
    delay_s = float(request.query.get("delay_s", "0.25"))
    await asyncio.sleep(min(max(delay_s, 0.0), 5.0))
    return web.Response(text="slow")


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("an unhandled error, counted as a 500")


def make_app(
    *, service: str = "hello", sla: SLA | None = None, registry: CollectorRegistry | None = None
) -> web.Application:
    """The example app, instrumented (pass a registry of its own in tests)."""
    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_get("/items/{item_id}", get_item)
    app.router.add_get("/slow", slow)
    app.router.add_get("/boom", boom)
    instrument(app, service=service, sla=sla, registry=registry)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
