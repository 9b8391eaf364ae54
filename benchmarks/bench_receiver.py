"""The alert receiver's throughput on PostgreSQL: stored alert events per second.

    python -m benchmarks.bench_receiver [--events 20000] [--batch 50] [--concurrency 8]

Empties the receiver's tables in LOADWATCH_BENCH_DATABASE_URL (default: the `test`
database on 127.0.0.1), starts `loadwatch serve receiver` on it as a child process
(one process, uvloop, no forwarding destinations), and posts notifications of `batch`
distinct alerts each (Alertmanager batches a group's alerts into one notification) from
`concurrency` connections until `events` alert events are stored. Reports stored events/s
(first request to last answer) and the request latency p50/p95; then the same with one
alert per notification, the worst case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import create_async_engine

from receiver.models import ReceiverBase
from runtime.ports import free_port, wait_listening

POSTGRES_URL = os.environ.get(
    "LOADWATCH_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_TOKEN = "bench-token-0123456789"


async def _reset(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ReceiverBase.metadata.drop_all)
    finally:
        await engine.dispose()


def _notification(first: int, batch: int) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "BenchAlert", "service": "course", "n": str(n)},
            "annotations": {"summary": "benchmark alert"},
            "startsAt": "2026-12-01T08:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph",
            "fingerprint": f"bench{n:012x}",
        }
        for n in range(first, first + batch)
    ]
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="BenchAlert"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "loadwatch",
            "groupLabels": {"alertname": "BenchAlert"},
            "commonLabels": {"alertname": "BenchAlert"},
            "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093",
            "alerts": alerts,
        }
    ).encode()


async def _post_all(url: str, events: int, batch: int, concurrency: int) -> dict[str, float]:
    bodies = [_notification(first, batch) for first in range(0, events, batch)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    stored = 0
    headers = {"Authorization": f"Bearer {_TOKEN}", "Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal stored
        while not queue.empty():
            body = queue.get_nowait()
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"receiver answered {response.status}: {answer}")
            latencies.append(time.perf_counter() - start)
            stored += int(answer["stored"])

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if stored != len(bodies) * batch:
        raise RuntimeError(f"stored {stored} of {len(bodies) * batch} events")
    latencies.sort()
    return {
        "events_per_s": round(stored / elapsed, 1),
        "requests_per_s": round(len(bodies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
        "events": stored,
        "batch": batch,
    }


def _measure(database_url: str, events: int, batch: int, concurrency: int) -> dict[str, float]:
    asyncio.run(_reset(database_url))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "loadwatch", "serve", "receiver", "--port", str(port),
         "--database-url", database_url],
        env={**os.environ, "LOADWATCH_RECEIVER_TOKEN": _TOKEN},
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_listening(port, timeout_s=30.0)
        url = f"http://127.0.0.1:{port}/alerts"
        asyncio.run(_post_all(url, min(events, 20 * batch), batch, concurrency))  # warm-up
        asyncio.run(_reset_rows(database_url))
        return asyncio.run(_post_all(url, events, batch, concurrency))
    finally:
        process.terminate()
        process.wait(timeout=20)


async def _reset_rows(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(ReceiverBase.metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await engine.dispose()


def run(events: int = 20_000, batch: int = 50, concurrency: int = 8) -> dict[str, Any]:
    """Batched and one-alert-per-notification figures on PostgreSQL; JSON-safe."""
    batched = _measure(POSTGRES_URL, events, batch, concurrency)
    single = _measure(POSTGRES_URL, min(events, 5_000), 1, concurrency * 4)
    command = (
        f"python -m benchmarks.bench_receiver --events {events} --batch {batch} "
        f"--concurrency {concurrency}"
    )
    return {"batched": batched, "single": single, "command": command}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.events, args.batch, args.concurrency)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
