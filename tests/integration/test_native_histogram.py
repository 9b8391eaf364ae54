"""The latency sketch reaches a real Prometheus (Debian 2.42, native histograms on) as a
native histogram, and `histogram_quantile` over it lands within 2 % of the exact p95.

Two instances of one service answer with lognormal latencies (p95 near 40 ms); each
handler keeps the latency it measured, so the exact p95 of what the service recorded is
known. Prometheus scrapes both every second over protobuf.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from benchmarks.prometheus_server import scraping_prometheus
from collector import conventions as names
from collector import instrument
from collector.protobuf_exposition import CONTENT_TYPE_PROTOBUF
from collector.sla import default_sla
from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.unit.protobuf_schema import decode_delimited

pytestmark = pytest.mark.integration

ROUTE = "/lognormal"
MEDIAN_S = 0.015
SIGMA = math.log(0.040 / MEDIAN_S) / 1.645  # p95 of the sleep near 40 ms
REQUESTS_A = 20_000
REQUESTS_B = 10_000
CONCURRENCY = 200
NATIVE = names.HTTP_REQUEST_DURATION_NATIVE


@dataclass
class Instance:
    """One instrumented service on its own port, keeping every latency it measured."""

    port: int
    latencies_s: list[float] = field(default_factory=list)


def _make_app(instance: Instance, seed: int) -> web.Application:
    rng = random.Random(seed)

    async def lognormal(request: web.Request) -> web.Response:
        started = time.perf_counter()
        await asyncio.sleep(rng.lognormvariate(math.log(MEDIAN_S), SIGMA))
        instance.latencies_s.append(time.perf_counter() - started)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get(ROUTE, lognormal)
    instrument(app, service="native", sla=default_sla(), registry=CollectorRegistry())
    return app


@pytest.fixture
def instances() -> Iterator[tuple[Instance, Instance]]:
    """Both instances served from one event loop in a thread of their own."""
    pair = (Instance(free_port()), Instance(free_port()))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runners: list[web.AppRunner] = []

    async def start() -> None:
        for seed, instance in enumerate(pair):
            runner = web.AppRunner(_make_app(instance, seed), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", instance.port).start()
            runners.append(runner)
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30 * TIMEOUT_UNIT_S)
    assert started.is_set()
    yield pair

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30 * TIMEOUT_UNIT_S)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


async def _drive(port: int, requests: int) -> None:
    """`requests` GETs at `CONCURRENCY` at a time, every one answered 200."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=30 * TIMEOUT_UNIT_S)
    url = f"http://127.0.0.1:{port}{ROUTE}"
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                async with session.get(url) as response:
                    assert response.status == 200
                    await response.read()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def _query(url: str, promql: str) -> float | None:
    body = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _wait_for(url: str, promql: str, expected: float, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = _query(url, promql)
        if value == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"{promql} stayed at {value}, expected {expected}")


def _exact_p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


def test_the_scrape_offers_protobuf_with_the_native_histogram(
    instances: tuple[Instance, Instance],
) -> None:
    a, _ = instances
    httpx.get(f"http://127.0.0.1:{a.port}{ROUTE}", timeout=10)
    response = httpx.get(
        f"http://127.0.0.1:{a.port}{names.METRICS_PATH}",
        headers={
            "Accept": "application/vnd.google.protobuf;"
            "proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,"
            "text/plain;version=0.0.4;q=0.3"
        },
        timeout=10,
    )
    assert response.headers["content-type"] == CONTENT_TYPE_PROTOBUF
    families = {f.name: f for f in decode_delimited(response.content)}
    native = families[NATIVE].metric[0].histogram
    assert (native.schema, native.sample_count) == (6, 1)
    classic = families[names.HTTP_REQUEST_DURATION].metric[0].histogram
    assert any(b.upper_bound == 0.2 for b in classic.bucket), "the SLI bucket is kept"
    text = httpx.get(f"http://127.0.0.1:{a.port}{names.METRICS_PATH}", timeout=10).text
    assert NATIVE not in text and f"{names.HTTP_REQUEST_DURATION}_bucket" in text


def test_prometheus_p95_over_the_native_histogram_is_within_2_percent(
    instances: tuple[Instance, Instance], tmp_path: Path
) -> None:
    require_tool("prometheus")
    a, b = instances
    for instance in instances:  # one request each, so the series exist before the load
        httpx.get(f"http://127.0.0.1:{instance.port}{ROUTE}", timeout=10)
    with scraping_prometheus(
        f"127.0.0.1:{a.port}",
        tmp_path,
        more_targets=[f"127.0.0.1:{b.port}"],
        native_histograms=True,
    ) as url:
        assert url is not None
        counted = f"sum(histogram_count({NATIVE}))"
        _wait_for(url, counted, 2.0, 30 * TIMEOUT_UNIT_S)
        for instance in instances:
            instance.latencies_s.clear()

        async def load() -> None:
            await asyncio.gather(_drive(a.port, REQUESTS_A), _drive(b.port, REQUESTS_B))

        asyncio.run(load())
        _wait_for(url, counted, 2.0 + REQUESTS_A + REQUESTS_B, 60 * TIMEOUT_UNIT_S)
        rate = f'rate({NATIVE}{{instance="127.0.0.1:{a.port}"}}[2m])'
        server_a = _query(url, f"histogram_quantile(0.95, sum({rate}))")
        union = _query(url, f"histogram_quantile(0.95, sum(rate({NATIVE}[2m])))")
    exact_a = _exact_p95(a.latencies_s)
    exact_union = _exact_p95(a.latencies_s + b.latencies_s)
    assert len(a.latencies_s) == REQUESTS_A
    assert server_a is not None and union is not None
    print(
        f"p95 one instance: native {server_a * 1000:.2f} ms, exact {exact_a * 1000:.2f} ms; "
        f"union: native {union * 1000:.2f} ms, exact {exact_union * 1000:.2f} ms"
    )
    assert abs(server_a - exact_a) / exact_a < 0.02, (server_a, exact_a)
    assert abs(union - exact_union) / exact_union < 0.02, (union, exact_union)
