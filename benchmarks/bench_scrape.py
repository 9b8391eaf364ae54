"""How long one /metrics scrape blocks the event loop (text, OpenMetrics, protobuf against
prometheus_client), and how far Prometheus' p95 lands from the exact one over the classic
buckets and over the native histogram.

    python -m benchmarks.bench_scrape [--scrapes 50] [--requests 20000] [--json OUT]

Scrape: 20 routes x 10 label sets (200 histogram series with the SLA buckets, plus their
status counters), every series observed. loadwatch: the /metrics handler's synchronous work
(`render_metrics`: fold, render, the rest of the registry), which is exactly the time the
loop cannot run anything else; the protobuf scrape carries the native histogram family too
(what Prometheus gets with `native-histograms` on), and is also timed without it (the
same families as the text scrape). Between these scrapes nothing is recorded, so the
encoder's per-series caches answer; the `_changed` pair first records `TOUCH` requests in
every series (and folds them, timed apart as `fold_changed_ms`: the fold is the hot path's
deferred work, which keeping the native buckets dense must not slow), so every series is
encoded afresh, as under load between two scrapes. Baseline: `generate_latest` over 20
prometheus_client histograms x 10 label sets with the same buckets. Formats are timed in
blocks of `_BLOCK` scrapes, interleaved, so that machine drift hits all alike.

Quantiles: an instrumented aiohttp service sleeps for lognormal latencies (p95 near 40 ms),
a real Prometheus (feature on) scrapes it every second, and `histogram_quantile(0.95, ...)`
over `promql.classic_quantile` and `promql.quantile` is compared with the exact p95 of the
latencies the handler measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from benchmarks.prometheus_server import scraping_prometheus
from collector import conventions as names
from collector import instrument, promql
from collector.exposition import CONTENT_TYPE_OPENMETRICS, NativeHistogramFamily
from collector.instrumentation import FamilyCollector, Instrumentation, shared_collector
from collector.middleware import render_metrics
from collector.protobuf_exposition import (
    CONTENT_TYPE_PROTOBUF,
    encode_client_metrics,
    encode_families,
)
from collector.sla import default_sla
from runtime.ports import free_port

ROUTES = 20
LABEL_SETS = 10
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "LIST", "COPY")
_BLOCK = 5
"""Scrapes per format in a row: one format's caches stay warm, as with one scraper."""
TOUCH = 3
"""Requests recorded in every series before each `_changed` scrape."""

_ROUTE = "/lognormal"
_MEDIAN_S = 0.015
_SIGMA = math.log(0.040 / _MEDIAN_S) / 1.645
_CONCURRENCY = 200


def _median_max(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "max": max(samples)}


def run(scrapes: int) -> dict[str, object]:
    """Median and max milliseconds per scrape for each exposition path, and body sizes."""
    rng = random.Random(2)
    sla = default_sla()
    registry = CollectorRegistry()
    inst = Instrumentation("bench", sla)
    collector = shared_collector(registry)
    collector.attach(inst)
    for r in range(ROUTES):
        for method in _METHODS[:LABEL_SETS]:
            series = inst.requests.series(f"/route{r}/{{id}}", method)
            for _ in range(200):
                series.record(rng.choice((200, 200, 200, 404, 500)), rng.lognormvariate(-3, 1.2))
    inst.requests.fold()

    baseline_registry = CollectorRegistry()
    for r in range(ROUTES):
        hist = Histogram(
            f"route{r}_duration_seconds",
            "d",
            ["method"],
            buckets=inst.bounds_s,
            registry=baseline_registry,
        )
        for method in _METHODS[:LABEL_SETS]:
            child = hist.labels(method)
            for _ in range(200):
                child.observe(rng.lognormvariate(-3, 1.2))

    all_series = inst.requests.all_series()

    folds_ms: list[float] = []

    def touch_every_series() -> None:
        for series in all_series:
            for _ in range(TOUCH):
                series.record(200, rng.lognormvariate(-3, 1.2))
        start = time.perf_counter()
        inst.requests.fold()
        folds_ms.append((time.perf_counter() - start) * 1000.0)

    def idle() -> None:
        pass

    paths: dict[str, tuple[Callable[[], None], Callable[[], object]]] = {
        "loadwatch_text_ms": (idle, lambda: render_metrics(registry, collector, "text/plain")),
        "loadwatch_openmetrics_ms": (
            idle,
            lambda: render_metrics(registry, collector, CONTENT_TYPE_OPENMETRICS),
        ),
        "loadwatch_protobuf_ms": (
            idle,
            lambda: render_metrics(registry, collector, CONTENT_TYPE_PROTOBUF),
        ),
        "loadwatch_protobuf_same_families_ms": (
            idle,
            lambda: _protobuf_without_native(registry, collector),
        ),
        "loadwatch_text_changed_ms": (
            touch_every_series,
            lambda: render_metrics(registry, collector, "text/plain"),
        ),
        "loadwatch_protobuf_changed_ms": (
            touch_every_series,
            lambda: render_metrics(registry, collector, CONTENT_TYPE_PROTOBUF),
        ),
        "prometheus_client_ms": (idle, lambda: generate_latest(baseline_registry)),
    }
    samples: dict[str, list[float]] = {key: [] for key in paths}
    for _ in range(max(1, scrapes // _BLOCK)):
        for key, (prepare, scrape) in paths.items():
            for _ in range(_BLOCK):
                prepare()
                start = time.perf_counter()
                scrape()
                samples[key].append((time.perf_counter() - start) * 1000.0)
    text, _ = render_metrics(registry, collector, "text/plain")
    proto, _ = render_metrics(registry, collector, CONTENT_TYPE_PROTOBUF)
    return {
        "series": ROUTES * LABEL_SETS,
        "buckets": len(inst.bounds_s) + 1,
        "body_bytes": len(text),
        "protobuf_body_bytes": len(proto),
        **{key: _median_max(values) for key, values in samples.items()},
        "fold_changed_ms": _median_max(folds_ms),
    }


def _protobuf_without_native(registry: CollectorRegistry, collector: FamilyCollector) -> bytes:
    """The protobuf scrape of exactly the families the text one carries."""
    families = [f for f in collector.families() if not isinstance(f, NativeHistogramFamily)]
    body = encode_families(families)
    with collector.skip_in_registry():
        return body + encode_client_metrics(registry.collect())


@contextmanager
def _lognormal_service(latencies_s: list[float]) -> Iterator[int]:
    """An instrumented service on its own loop and thread; yields its port."""
    rng = random.Random(15)

    async def lognormal(request: web.Request) -> web.Response:
        started = time.perf_counter()
        await asyncio.sleep(rng.lognormvariate(math.log(_MEDIAN_S), _SIGMA))
        latencies_s.append(time.perf_counter() - started)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get(_ROUTE, lognormal)
    instrument(app, service="bench", sla=default_sla(), registry=CollectorRegistry())
    runner = web.AppRunner(app, access_log=None)
    port = free_port()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def _drive(port: int, requests: int) -> None:
    connector = aiohttp.TCPConnector(limit=_CONCURRENCY)
    url = f"http://127.0.0.1:{port}{_ROUTE}"
    async with aiohttp.ClientSession(connector=connector) as session:
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url} answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(_CONCURRENCY)))


def _query(url: str, query: str) -> float | None:
    body = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=10).json()
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _wait_for(url: str, query: str, expected: float, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _query(url, query) != expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{query} did not reach {expected} within {timeout_s:g} s")
        time.sleep(0.2)


def quantile_errors(requests: int) -> dict[str, object]:
    """Relative p95 error of Prometheus over the classic buckets and the native histogram,
    against the exact p95 of what the service measured; empty without `prometheus`."""
    latencies_s: list[float] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        _lognormal_service(latencies_s) as port,
    ):
        httpx.get(f"http://127.0.0.1:{port}{_ROUTE}", timeout=10)  # the series exist first
        with scraping_prometheus(f"127.0.0.1:{port}", Path(folder), native_histograms=True) as url:
            if url is None:
                return {}
            counted = f"sum(histogram_count({names.HTTP_REQUEST_DURATION_NATIVE}))"
            _wait_for(url, counted, 1.0, 30.0)
            latencies_s.clear()
            asyncio.run(_drive(port, requests))
            _wait_for(url, counted, 1.0 + requests, 60.0)
            classic = _query(url, promql.classic_quantile(0.95, "10m", by=()))
            native = _query(url, promql.quantile(0.95, "10m", by=()))
    ordered = sorted(latencies_s)
    exact = ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]

    def error(value: float | None) -> float | None:
        return abs(value - exact) / exact if value is not None else None

    return {
        "requests": len(ordered),
        "exact_p95_ms": exact * 1000.0,
        "classic_p95_ms": classic * 1000.0 if classic is not None else None,
        "native_p95_ms": native * 1000.0 if native is not None else None,
        "classic_error": error(classic),
        "native_error": error(native),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = {"scrape": run(args.scrapes), "quantiles": quantile_errors(args.requests)}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
