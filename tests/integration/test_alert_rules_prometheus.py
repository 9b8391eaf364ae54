"""The generated recording rules in a real Prometheus, scraping a real instrumented server.

Proves what promtool's hand-fed series cannot: the rules' selectors match the series the
collector really exposes (`le="0.2"` and `le="1.0"` as the exposition writes them, the
`code` label, the `service` label kept by `honor_labels`), and with Prometheus' native
histograms on, as `loadwatch stack` runs it, the SLIs still read the classic buckets while
the display quantiles read the native histogram (which promtool 2.42 cannot feed).
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from alert_rules.configs import StackAddresses, prometheus_config
from collector import conventions as names
from collector.middleware import instrument
from collector.sla import default_sla
from runtime.ports import free_port
from tests.conftest import require_tool
from tests.waiting import eventually

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[2] / "alert_rules" / "generated" / "rules.yml"
SERVICE = "probe"
# Requests per batch by kind: 5xx and slow ones are each 20 % of all requests.
BATCH = {"/ok": 10, "/fail": 5, "/slow": 5, "/gone": 5}
SLOW_S: list[float] = []
"""What the /slow handler measured of its own sleeps (seconds)."""


def make_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def fail(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable()

    async def slow(request: web.Request) -> web.Response:
        started = time.perf_counter()
        await asyncio.sleep(0.3)  # over the 200 ms threshold, under the 1 s slow one
        SLOW_S.append(time.perf_counter() - started)
        return web.Response(text="slow")

    async def gone(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application()
    for path, handler in (("/ok", ok), ("/fail", fail), ("/slow", slow), ("/gone", gone)):
        app.router.add_get(path, handler)
    instrument(app, service=SERVICE, sla=default_sla(), registry=CollectorRegistry())
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    test_server = TestServer(make_app(), host="127.0.0.1")
    async with test_server:
        yield test_server


@pytest.fixture
def prometheus(server: TestServer, tmp_path: Path) -> Iterator[str]:
    binary = require_tool("prometheus")
    # The generator's own configuration, scraping the test server every second.
    stack = StackAddresses(scrape_interval="1s", evaluation_interval="1s")
    config = prometheus_config({SERVICE: f"127.0.0.1:{server.port}"}, [str(RULES)], stack)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            "--enable-feature=native-histograms",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def query(client: httpx.AsyncClient, url: str, expr: str) -> float | None:
    try:
        body = (await client.get(f"{url}/api/v1/query", params={"query": expr})).json()
    except (httpx.HTTPError, ValueError):
        return None
    result = body.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


async def first_value(client: httpx.AsyncClient, url: str, expr: str, timeout_s: float) -> float:
    """The query's value once it returns a finite number (polled; scaled deadline)."""
    found: list[float] = []

    async def finite() -> bool:
        value = await query(client, url, expr)
        if value is not None and math.isfinite(value):
            found.append(value)
        return bool(found)

    await eventually(finite, timeout_s, what=f"{expr} giving a value", poll_s=0.2)
    return found[0]


async def send_batch(server: TestServer) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        await asyncio.gather(*(client.get(path) for path, n in BATCH.items() for _ in range(n)))


async def test_recorded_slis_match_what_the_server_answered(
    server: TestServer, prometheus: str
) -> None:
    selector = f'{{{names.LABEL_SERVICE}="{SERVICE}"}}'
    async with httpx.AsyncClient(timeout=5) as client:
        # Every series must exist in one scrape before the measured batch: a counter's
        # first sample is its baseline, not an increase.
        await send_batch(server)
        fail_series = f'{names.HTTP_REQUESTS}_total{{code="503",service="{SERVICE}"}}'
        await first_value(client, prometheus, fail_series, 60)
        await send_batch(server)
        await send_batch(server)
        total = 3 * sum(BATCH.values())
        requests = f"{names.HTTP_REQUESTS}_total{selector}"

        async def scraped_all() -> bool:
            return await query(client, prometheus, f"sum({requests})") == total

        await eventually(scraped_all, 30, what="Prometheus scraping the last batches", poll_s=0.2)
        scraped_at = await first_value(client, prometheus, f"max(timestamp({requests}))", 30)
        values = {}
        for rule in (names.rule_error_ratio, names.rule_latency_ratio, names.rule_slow_ratio):
            recorded = rule("5m") + selector
            # Wait for an evaluation after the last scrape: it has read the last batch.
            fresh = f"{recorded} and timestamp({recorded}) > {scraped_at}"
            values[rule] = await first_value(client, prometheus, fresh, 30)
        p95 = names.rule_latency_quantile("5m") + f'{{service="{SERVICE}",quantile="0.95"}}'
        fresh = f"{p95} and timestamp({p95}) > {scraped_at}"
        recorded_p95 = await first_value(client, prometheus, fresh, 30)
    error = values[names.rule_error_ratio]
    latency = values[names.rule_latency_ratio]
    slow = values[names.rule_slow_ratio]
    assert error == pytest.approx(0.2)  # 503s are errors, the 404s are not
    assert latency == pytest.approx(0.2)  # the 300 ms requests, read from le="0.2"
    assert slow == 0.0  # nothing over 1 s, read from le="1.0" (no data if it did not match)
    # 20 % of the requests slept 0.3 s, so the p95 is one of those sleeps, give or take the
    # native bucket's width (2^(1/64)); the classic buckets would interpolate across
    # their 0.3-0.4 s bucket instead.
    assert min(SLOW_S) / 2 ** (1 / 64) <= recorded_p95 <= max(SLOW_S) * 2 ** (1 / 64)
