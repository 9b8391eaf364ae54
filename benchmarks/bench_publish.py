"""Latency of publishing one campaign to five platforms at once, end to end over HTTP.

    python -m benchmarks.bench_publish [--requests 300] [--concurrency 4] [--json OUT]

Starts, in this process on 127.0.0.1, the fake social platforms (five, 50 ms median and
~60 ms p99 replies, no errors) and the campaign service on SQLite in a temporary folder,
creates and processes a few campaigns, then sends `requests` POST
/campaigns/{id}/publish calls (all five platforms, a fresh Idempotency-Key each) from
`concurrency` clients. Posting in parallel, a publish takes about one platform's latency:
the target is p95 < 120 ms, where posting one platform after another would take ~250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from reference_services.campaign import make_campaign_app
from reference_services.campaign.models import DEFAULT_CAMPAIGN_PLATFORMS
from reference_services.settings import ServiceSettings
from reference_services.social import PlatformBehaviour, make_social_app

__all__ = ["run"]

TARGET_P95_MS = 120.0
_MEDIAN_S, _P99_S = 0.050, 0.060
_CAMPAIGNS = 5
_WARMUP = 20


@asynccontextmanager
async def _serving(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 at a free port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 < q <= 100) of ascending values."""
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


async def _measure(requests: int, concurrency: int, data_dir: Path) -> dict[str, object]:
    platforms = list(DEFAULT_CAMPAIGN_PLATFORMS)
    social_app = make_social_app(
        {p: PlatformBehaviour(p, _MEDIAN_S, _P99_S) for p in platforms},
        seed=1,
        registry=CollectorRegistry(),
    )
    async with _serving(social_app) as social_url:
        settings = ServiceSettings.build(
            "campaign",
            database_url=f"sqlite+aiosqlite:///{data_dir / 'campaign.sqlite3'}",
            social_url=social_url,
            rate_limit_per_s=1e6,
            rate_limit_burst=1e6,
        )
        campaign_app = make_campaign_app(settings, registry=CollectorRegistry())
        async with _serving(campaign_app) as base, aiohttp.ClientSession(base) as http:
            ids = []
            for n in range(_CAMPAIGNS):
                body = {"name": f"Bench {n}", "content": f"Benchmark campaign {n}: new release!"}
                async with http.post("/campaigns", json=body) as response:
                    ids.append((await response.json())["id"])
                async with http.post(f"/campaigns/{ids[-1]}/process") as response:
                    assert response.status == 200, await response.text()
            latencies_s: list[float] = []
            statuses: dict[int, int] = {}
            counter = iter(range(_WARMUP + requests))

            async def client() -> None:
                for n in counter:
                    started = time.perf_counter()
                    async with http.post(
                        f"/campaigns/{ids[n % len(ids)]}/publish",
                        json={"platforms": platforms},
                        headers={"Idempotency-Key": f"bench-{n}"},
                    ) as response:
                        await response.read()
                    if n >= _WARMUP:
                        latencies_s.append(time.perf_counter() - started)
                        statuses[response.status] = statuses.get(response.status, 0) + 1

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            elapsed_s = time.perf_counter() - started
    latencies_ms = sorted(s * 1000 for s in latencies_s)
    p95 = _percentile(latencies_ms, 95)
    return {
        "command": f"python -m benchmarks.bench_publish --requests {requests} "
        f"--concurrency {concurrency}",
        "platforms": len(platforms),
        "platform_latency_ms": {"median": _MEDIAN_S * 1000, "p99": _P99_S * 1000},
        "requests": len(latencies_ms),
        "concurrency": concurrency,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "latency_ms": {
            "p50": round(_percentile(latencies_ms, 50), 2),
            "p95": round(p95, 2),
            "p99": round(_percentile(latencies_ms, 99), 2),
            "max": round(latencies_ms[-1], 2),
        },
        "publishes_per_s": round((_WARMUP + requests) / elapsed_s, 1),
        "serial_estimate_ms": len(platforms) * _MEDIAN_S * 1000,
        "target_p95_ms": TARGET_P95_MS,
        "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
        "met": p95 < TARGET_P95_MS,
    }


def run(requests: int = 300, concurrency: int = 4) -> dict[str, object]:
    """Publish latency percentiles in milliseconds and whether p95 met the target."""
    if requests < 1 or concurrency < 1:
        raise ValueError(f"requests and concurrency: expected >= 1, got {requests}, {concurrency}")
    with (
        tempfile.TemporaryDirectory(prefix="bench-publish-") as data_dir,
        asyncio.Runner(loop_factory=_loop_factory()) as runner,
    ):
        return runner.run(_measure(requests, concurrency, Path(data_dir)))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed, as `loadwatch serve` uses; else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    args = parser.parse_args()
    result = run(args.requests, args.concurrency)
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
