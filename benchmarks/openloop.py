"""A small open-model load generator for benchmarks: constant arrival rate, latency measured
from each request's intended start (coordinated omission corrected, as wrk2 does).

    result = await open_loop(url_for, rate=1000, duration_s=10)

Sends only to the URLs it is given (127.0.0.1 in every benchmark) and stops by itself.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
import numpy as np

__all__ = ["OpenLoopResult", "open_loop"]


@dataclass(frozen=True, slots=True)
class OpenLoopResult:
    """Outcome of one run: latencies in milliseconds from the intended start."""

    offered_rate: float
    achieved_rate: float
    requests: int
    errors: int
    missed: int
    latencies_ms: list[float]

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of latency in ms (numpy's inverted_cdf, i.e. a real sample)."""
        return float(np.quantile(self.latencies_ms, q, method="inverted_cdf"))

    def summary(self) -> dict[str, float | int]:
        """JSON-safe figures: rates, counts and p50/p95/p99/max in ms."""
        return {
            "offered_rate": self.offered_rate,
            "achieved_rate": round(self.achieved_rate, 1),
            "requests": self.requests,
            "errors": self.errors,
            "missed": self.missed,
            "p50_ms": round(self.percentile(0.5), 3),
            "p95_ms": round(self.percentile(0.95), 3),
            "p99_ms": round(self.percentile(0.99), 3),
            "max_ms": round(max(self.latencies_ms), 3),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 3),
        }


async def open_loop(
    url_for: Callable[[int], str],
    *,
    rate: float,
    duration_s: float,
    headers: Mapping[str, str] | None = None,
    max_in_flight: int = 2000,
    timeout_s: float = 10.0,
) -> OpenLoopResult:
    """Start request i at start + i / rate for duration_s; await them all (bounded)."""
    latencies: list[float] = []
    errors = 0
    missed = 0
    in_flight: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=max_in_flight, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(url: str, intended: float) -> None:
            nonlocal errors
            try:
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status >= 400:
                        errors += 1
            except (TimeoutError, aiohttp.ClientError):
                errors += 1
            latencies.append((time.perf_counter() - intended) * 1000.0)

        total = int(rate * duration_s)
        start = time.perf_counter() + 0.05
        for i in range(total):
            intended = start + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= max_in_flight:
                missed += 1
                continue
            task = asyncio.create_task(one(url_for(i), intended))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        sent_s = time.perf_counter() - start
        if in_flight:
            await asyncio.wait(in_flight, timeout=timeout_s + 1)
    return OpenLoopResult(
        offered_rate=rate,
        achieved_rate=(total - missed) / sent_s if sent_s > 0 else 0.0,
        requests=len(latencies),
        errors=errors,
        missed=missed,
        latencies_ms=latencies,
    )
