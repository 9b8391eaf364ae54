"""The stream hub against real instrumented services on 127.0.0.1 under a small load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect

from collector.sla import default_sla
from collector.snapshot import Snapshot, merge_snapshots
from examples.hello_service import make_app
from livehub.message import Kpis
from livehub.server import HubSettings, RunningHub, serve_hub
from tests.conftest import TIMEOUT_UNIT_S

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def hello_service(service: str = "hello") -> AsyncIterator[str]:
    """examples/hello_service.py on a free 127.0.0.1 port, with a registry of its own."""
    runner = web.AppRunner(make_app(service=service, registry=CollectorRegistry()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def load(urls: list[str], requests: int, concurrency: int = 4) -> None:
    """`requests` GETs spread over `urls` (fast and 20 ms routes), `concurrency` at a time."""
    paths = ["/hello", "/items/7", "/slow?delay_s=0.02"]
    queue = [f"{urls[i % len(urls)]}{paths[i % len(paths)]}" for i in range(requests)]

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            async with session.get(queue.pop()) as response:
                await response.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))


async def background_load(urls: list[str], stop: asyncio.Event, batch: int = 40) -> None:
    """Small batches of requests until `stop` is set (a bounded, steady trickle)."""
    while not stop.is_set():
        await load(urls, batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 15.0
) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout_s` (scaled)."""
    deadline = time.monotonic() + timeout_s * TIMEOUT_UNIT_S
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s * TIMEOUT_UNIT_S:g} s")
        await asyncio.sleep(0.05)


class Subscriber:
    """A websocket subscriber that keeps every message it receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                self.messages.append(json.loads(raw))

    async def wait_for(
        self, test: Callable[[dict[str, Any]], bool], what: str, timeout_s: float = 15.0
    ) -> dict[str, Any]:
        async def found() -> bool:
            return any(test(m) for m in self.messages)

        await until(found, what, timeout_s)
        return next(m for m in self.messages if test(m))


@contextlib.asynccontextmanager
async def subscribed(hub: RunningHub) -> AsyncIterator[Subscriber]:
    async with connect(f"ws://127.0.0.1:{hub.port}/ws", compression=None) as ws:
        subscriber = Subscriber(ws)
        try:
            yield subscriber
        finally:
            subscriber.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await subscriber.task


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def service_of(message: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in message["services"] if s["name"] == name)


async def test_the_hub_merges_two_processes_exactly_and_marks_a_dead_target_down() -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    async with hello_service() as first, hello_service() as second:
        settings = HubSettings(port=0)
        hubbed = serve_hub([first, second, dead], default_sla(), settings)
        async with hubbed as hub, subscribed(hub) as subscriber:
            await load([first, second], 300)

            def both_up_with_traffic(m: dict[str, Any]) -> bool:
                services = {s["name"]: s for s in m["services"]}
                hello = services.get("hello")
                return bool(hello and hello["targets_up"] == 2 and hello["kpis"]["rps"] > 0)

            busy = await subscriber.wait_for(both_up_with_traffic, "a second with traffic")
            assert busy["total"]["kpis"]["processes"] == 2
            down = next(t for t in busy["targets"] if t["url"] == dead)
            assert down["state"] == "down" and "ConnectError" in down["reason"]

            # Once the load's last second has closed, each process's 60 s window stays
            # as it is, so the hub's next merges must equal our merge of the two.
            snapshots: list[Snapshot] = []

            async def all_requests_closed() -> bool:
                async with httpx.AsyncClient() as client:
                    snapshots[:] = [
                        Snapshot.from_dict((await client.get(f"{url}/live/snapshot")).json())
                        for url in (first, second)
                    ]
                return sum(s.latency_60s.count for s in snapshots) == 300

            await until(all_requests_closed, "the 300 requests in the 60 s windows")
            expected = Kpis.of(merge_snapshots(snapshots, "hello")).latency_60s
            after = busy["sequence"] + 2
            later = await subscriber.wait_for(lambda m: m["sequence"] >= after, "two ticks")
            window = service_of(later, "hello")["kpis"]["latency_ms"]["60s"]
            assert window == {
                "p50": round(expected.p50_ms or 0, 3),
                "p95": round(expected.p95_ms or 0, 3),
                "p99": round(expected.p99_ms or 0, 3),
            }
            sequences = [m["sequence"] for m in subscriber.messages]
            assert sequences == list(range(sequences[0], sequences[-1] + 1))


async def test_a_target_that_stops_is_marked_down_and_the_hub_keeps_going() -> None:
    async with hello_service("course") as course:
        stack = contextlib.AsyncExitStack()
        campaign = await stack.enter_async_context(hello_service("campaign"))
        hubbed = serve_hub([course, campaign], default_sla(), HubSettings(port=0))
        async with hubbed as hub, subscribed(hub) as subscriber:
            await subscriber.wait_for(
                lambda m: all(t["state"] == "up" for t in m["targets"]), "both targets up"
            )
            await stack.aclose()
            gone = await subscriber.wait_for(
                lambda m: any(t["state"] == "down" for t in m["targets"]), "campaign down"
            )
            campaign_view = service_of(gone, "campaign")
            assert campaign_view["targets_up"] == 0 and campaign_view["kpis"] is None
            assert service_of(gone, "course")["targets_up"] == 1
            assert gone["total"]["targets_up"] == 1
            then = gone["sequence"] + 2
            await subscriber.wait_for(lambda m: m["sequence"] >= then, "ticks go on")


async def test_a_subscriber_that_stops_reading_is_dropped_and_the_others_miss_nothing() -> None:
    async with hello_service() as url:
        # Small bounds so that the stalled reader overflows within a few ticks.
        settings = HubSettings(port=0, max_buffered_bytes=0, send_buffer_bytes=4096)
        async with serve_hub([url], default_sla(), settings) as hub, subscribed(hub) as reader:
            stalled = socket.socket()
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_connect(stalled, ("127.0.0.1", hub.port))
            await loop.sock_sendall(
                stalled,
                b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n",
            )
            try:  # never read: the hub's writes pile up in the kernel, then in its buffer

                async def dropped() -> bool:
                    return hub.hub.fanout.dropped_total == 1

                first = len(reader.messages)
                await until(dropped, "the stalled subscriber dropped", timeout_s=60.0)
                assert len(hub.hub.subscribers) == 1
                then = reader.messages[-1]["sequence"] + 1
                await reader.wait_for(lambda m: m["sequence"] >= then, "one more tick")
            finally:
                stalled.close()
            sequences = [m["sequence"] for m in reader.messages[first:]]
            assert sequences == list(range(sequences[0], sequences[-1] + 1))


async def test_the_hub_serves_the_page_health_and_a_json_404() -> None:
    async with (
        hello_service() as url,
        serve_hub([url], default_sla(), HubSettings(port=0)) as hub,
    ):
        base = f"http://127.0.0.1:{hub.port}"
        async with httpx.AsyncClient() as client:
            page = await client.get(f"{base}/")
            script = await client.get(f"{base}/live.js")
            health = await client.get(f"{base}/healthz")
            missing = await client.get(f"{base}/nope")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<canvas id="chart-p95"' in page.text and "/live.js" in page.text
    assert "http://" not in page.text + script.text and "https://" not in page.text + script.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert health.json()["targets"] == 1 and health.json()["subscribers"] == 0
    assert missing.status_code == 404 and "no such path" in missing.json()["error"]


def test_serve_stream_runs_until_sigterm_and_refuses_bad_targets() -> None:
    cli = [sys.executable, "-m", "loadwatch", "serve", "stream"]
    missing = subprocess.run(cli, capture_output=True, text=True, timeout=60 * TIMEOUT_UNIT_S)
    assert missing.returncode == 2 and "expected at least one --target" in missing.stderr
    bad = subprocess.run(
        [*cli, "--target", "localhost:1"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "expected an http:// or https:// URL" in bad.stderr
    port = closed_port()
    hub = subprocess.Popen(
        [*cli, "--port", str(port), "--target", f"http://127.0.0.1:{closed_port()}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert hub.stdout is not None
        line = hub.stdout.readline()
        assert f"live page http://127.0.0.1:{port}/" in line
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert health["targets"] == 1
        hub.send_signal(signal.SIGTERM)
        assert hub.wait(timeout=30 * TIMEOUT_UNIT_S) == 0
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait()
        assert hub.stdout is not None
        hub.stdout.close()
