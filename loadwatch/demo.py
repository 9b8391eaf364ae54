"""`loadwatch demo`: the instrumented example service under a steady open-model load.

Starts `examples.hello_service` on 127.0.0.1, sends `rate` requests per second for
`duration_s` seconds (a mix of fast, slow, bad and failing requests), prints one KPI line
per second read back from /live/snapshot, then judges the run against the SLA's latency
and error objectives and stops. Exit code 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.registry import CollectorRegistry

from collector.sla import SLA
from collector.snapshot import Snapshot
from examples.hello_service import make_app

__all__ = ["run_demo"]

_MAX_IN_FLIGHT = 512
"""Requests the generator keeps outstanding at most; later starts are counted as missed."""


def _pick_path(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.90:
        return "/hello"
    if roll < 0.95:
        return f"/items/{rng.randrange(1, 10_000)}"
    if roll < 0.993:
        return f"/slow?delay_s={min(rng.lognormvariate(-2.7, 0.6), 1.5):.3f}"
    if roll < 0.996:
        return "/items/not-a-number"
    return "/boom"


def _kpi_line(elapsed_s: float, snap: Snapshot) -> str:
    d = snap.to_dict()
    lat = d["latency_ms"]["1s"]

    def ms(value: float | None) -> str:
        return "     -" if value is None else f"{value:6.2f}"

    return (
        f"{elapsed_s:5.0f}s  rps {snap.rps:6.0f}  p50 {ms(lat['p50'])} ms  p95 {ms(lat['p95'])} ms"
        f"  p99 {ms(lat['p99'])} ms  errors {snap.error_ratio:6.2%}  in-flight {snap.in_flight:3d}"
        f"  cpu {snap.cpu_percent:5.1f}%  rss {snap.rss_bytes / 2**20:6.1f} MiB"
    )


async def _drive(
    session: aiohttp.ClientSession, base: str, rate: float, duration_s: float
) -> dict[str, int]:
    rng = random.Random(7)
    outcome = {"sent": 0, "missed": 0, "failed": 0}
    in_flight: set[asyncio.Task[None]] = set()

    async def one(path: str) -> None:
        try:
            async with session.get(base + path) as response:
                await response.read()
        except aiohttp.ClientError:
            outcome["failed"] += 1

    start = time.perf_counter()
    interval = 1.0 / rate
    n = 0
    while (due := start + n * interval) < start + duration_s:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        n += 1
        if len(in_flight) >= _MAX_IN_FLIGHT:
            outcome["missed"] += 1
            continue
        task = asyncio.create_task(one(_pick_path(rng)))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        outcome["sent"] += 1
    if in_flight:
        await asyncio.wait(in_flight, timeout=5.0)
    return outcome


async def _watch(
    session: aiohttp.ClientSession, base: str, started: float, sink: list[Snapshot]
) -> None:
    last = 0.0
    while True:
        await asyncio.sleep(0.25)
        with contextlib.suppress(aiohttp.ClientError, ValueError):
            async with session.get(base + "/live/snapshot") as response:
                if response.status != 200:
                    continue
                body: dict[str, Any] = await response.json()
            snap = Snapshot.from_dict(body)
            if snap.timestamp_s > last:
                last = snap.timestamp_s
                sink.append(snap)
                print(_kpi_line(time.time() - started, snap), flush=True)


async def _demo(sla: SLA, host: str, port: int, duration_s: float, rate: float) -> int:
    # /boom fails on purpose; its 500s are counted in the KPIs, not logged as tracebacks.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    app = make_app(service="hello", sla=sla, registry=CollectorRegistry())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    base = f"http://{bound[0]}:{bound[1]}"
    print(f"loadwatch demo: example service on {base}")
    print(f"  metrics        {base}/metrics")
    print(f"  live snapshot  {base}/live/snapshot")
    print(
        f"  sending {rate:g} req/s for {duration_s:g} s; one line per closed second\n", flush=True
    )
    snapshots: list[Snapshot] = []
    started = time.time()
    try:
        connector = aiohttp.TCPConnector(limit=_MAX_IN_FLIGHT)
        async with aiohttp.ClientSession(connector=connector) as session:
            watcher = asyncio.create_task(_watch(session, base, started, snapshots))
            outcome = await _drive(session, base, rate, duration_s)
            await asyncio.sleep(1.3)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            final = None
            with contextlib.suppress(aiohttp.ClientError, ValueError):
                async with session.get(base + "/live/snapshot") as response:
                    final = Snapshot.from_dict(await response.json())
    finally:
        await runner.cleanup()
    if final is not None and (not snapshots or final.timestamp_s > snapshots[-1].timestamp_s):
        snapshots.append(final)
    return _verdict(sla, snapshots, outcome)


def _verdict(sla: SLA, snapshots: list[Snapshot], outcome: dict[str, int]) -> int:
    print(
        f"\nsent {outcome['sent']} requests, {outcome['missed']} starts missed, "
        f"{outcome['failed']} transport failures"
    )
    if not snapshots or snapshots[-1].latency_60s.count == 0:
        print("no snapshot was recorded: the service did not answer")
        return 1
    objectives = sla.objectives
    window = snapshots[-1].latency_60s
    observed_latency = window.quantile(objectives.latency.percentile)
    requests = sum(s.requests for s in snapshots)
    errors = sum(s.errors for s in snapshots)
    error_ratio = errors / requests if requests else 0.0
    rows = [
        (
            f"latency {objectives.latency.label} < {objectives.latency.threshold_s * 1000:g} ms",
            f"{observed_latency * 1000:.1f} ms (last 60 s)",
            observed_latency < objectives.latency.threshold_s,
        ),
        (
            f"error rate < {objectives.error_rate:.0%}",
            f"{error_ratio:.2%} ({errors} of {requests})",
            error_ratio < objectives.error_rate,
        ),
    ]
    print("\nSLA verdict (server side, from /live/snapshot):")
    for name, observed, ok in rows:
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<22} observed {observed}")
    return 0 if all(ok for _, _, ok in rows) else 1


def run_demo(sla: SLA, *, host: str, port: int, duration_s: float, rate: float) -> int:
    """Run the demo; Ctrl-C stops it cleanly (exit 130)."""
    try:
        return asyncio.run(_demo(sla, host, port, duration_s, rate))
    except KeyboardInterrupt:
        print("\nloadwatch demo: interrupted")
        return 130
