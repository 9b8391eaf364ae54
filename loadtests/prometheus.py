"""Server-side figures of a run from Prometheus: p95 latency and error ratio (HTTP API).

`server_figures(url, start_s, end_s, percentile=0.95)` asks Prometheus for the run's
window, so a report can show the server's view next to the client's. The queries read
the collector's metric names from `collector.conventions`; `promql_*` build them (pure).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from collector import promql
from collector.promql import Matcher

__all__ = [
    "AGREEMENT_TOLERANCE",
    "PrometheusError",
    "ServerFigures",
    "holding_bucket",
    "p95_agrees",
    "server_figures",
]

AGREEMENT_TOLERANCE = 0.10
"""Client and server percentiles agree within this relative difference, or when the
client's value lies in the server histogram bucket that holds the server's value."""


class PrometheusError(RuntimeError):
    """Prometheus could not be queried or answered with an error; the message says which."""


@dataclass(frozen=True, slots=True)
class ServerFigures:
    """What the services recorded during the run (None when Prometheus had no data)."""

    p95_ms: float | None
    error_rate: float | None
    requests: float | None
    p95_bucket_ms: tuple[float, float] | None = None
    """The histogram bucket (lower, upper] that holds `p95_ms`."""

    def to_dict(self) -> dict[str, float | None]:
        low, high = self.p95_bucket_ms if self.p95_bucket_ms is not None else (None, None)
        return {
            "p95_ms": self.p95_ms,
            "p95_bucket_low_ms": low,
            "p95_bucket_high_ms": high,
            "error_rate": self.error_rate,
            "requests": self.requests,
        }


def holding_bucket(value: float, bounds: Sequence[float]) -> tuple[float, float] | None:
    """The bucket (lower, upper] of sorted upper `bounds` that holds `value` (lower is 0
    for the first bucket); None when `value` is beyond the last bound."""
    index = bisect.bisect_left(bounds, value)
    if index >= len(bounds):
        return None
    return (bounds[index - 1] if index > 0 else 0.0, bounds[index])


def p95_agrees(client_ms: float, server_ms: float, bucket_ms: tuple[float, float] | None) -> bool:
    """Whether the client's and the server's percentile agree: within
    AGREEMENT_TOLERANCE of the server's value, or inside the server's bucket."""
    if abs(client_ms - server_ms) <= AGREEMENT_TOLERANCE * server_ms:
        return True
    return bucket_ms is not None and bucket_ms[0] < client_ms <= bucket_ms[1]


def _vector(client: httpx.Client, url: str, query: str, at_s: float) -> list[dict[str, Any]]:
    try:
        response = client.get(f"{url}/api/v1/query", params={"query": query, "time": at_s})
    except httpx.HTTPError as exc:
        raise PrometheusError(f"cannot reach Prometheus at {url}: {exc}") from None
    if response.status_code != 200:
        raise PrometheusError(f"Prometheus answered {response.status_code}: {response.text[:200]}")
    body = response.json()
    if body.get("status") != "success":
        raise PrometheusError(f"Prometheus query failed: {body.get('error', body)}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _bounds_s(client: httpx.Client, url: str, query: str, at_s: float) -> list[float]:
    """The finite bucket upper bounds in seconds, sorted."""
    bounds = {float(series["metric"]["le"]) for series in _vector(client, url, query, at_s)}
    return sorted(b for b in bounds if math.isfinite(b))


def _scalar(client: httpx.Client, url: str, query: str, at_s: float) -> float | None:
    result = _vector(client, url, query, at_s)
    if not result:
        return None
    value = float(result[0]["value"][1])
    return value if math.isfinite(value) else None


def server_figures(
    url: str,
    start_s: float,
    end_s: float,
    *,
    percentile: float = 0.95,
    matchers: Sequence[Matcher] = (),
    timeout_s: float = 5.0,
) -> ServerFigures:
    """Query Prometheus at `end_s` over [start_s, end_s] (every service, or those
    `matchers` select); PrometheusError when it fails."""
    window = promql.window_of(end_s - start_s)
    with httpx.Client(timeout=timeout_s) as client:
        query = promql.quantile(percentile, window, by=(), matchers=matchers)
        quantile = _scalar(client, url, query, end_s)
        ratio = _scalar(client, url, promql.error_ratio(window, by=(), matchers=matchers), end_s)
        requests = _scalar(client, url, promql.requests_in(window, matchers=matchers), end_s)
        bucket = None
        if quantile is not None:
            query = promql.bucket_bounds(window, matchers=matchers)
            bounds = _bounds_s(client, url, query, end_s)
            held = holding_bucket(quantile, bounds)
            bucket = (held[0] * 1000.0, held[1] * 1000.0) if held is not None else None
    return ServerFigures(
        p95_ms=quantile * 1000.0 if quantile is not None else None,
        error_rate=ratio,
        requests=requests,
        p95_bucket_ms=bucket,
    )
