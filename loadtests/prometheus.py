"""Server-side figures of a run from Prometheus: p95 latency and error ratio (HTTP API).

`server_figures(url, start_s, end_s, percentile=0.95)` asks Prometheus for the run's
window, so a report can show the server's view next to the client's. The quantiles read the
collector's native histogram (`promql.quantile`: within about 0.54 % of what the services
recorded), so Prometheus must run with `--enable-feature=native-histograms`; without it the
quantiles are None. The queries come from `collector.promql`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from collector import conventions as names
from collector import promql
from collector.promql import Matcher

__all__ = [
    "AGREEMENT_TOLERANCE",
    "PrometheusError",
    "ServerFigures",
    "instance_matcher",
    "network_ms",
    "p95_agrees",
    "server_figures",
]

AGREEMENT_TOLERANCE = 0.02
"""Client and server percentiles agree within this relative difference of the server's
value (the native histogram's 0.54 % plus the client sketch's 1 %, rounded up), once the
client's own network time is allowed for (`p95_agrees`)."""


class PrometheusError(RuntimeError):
    """Prometheus could not be queried or answered with an error; the message says which."""


@dataclass(frozen=True, slots=True)
class ServerFigures:
    """What the services recorded during the run (None when Prometheus had no data)."""

    p95_ms: float | None
    error_rate: float | None
    requests: float | None
    p50_ms: float | None = None
    """The server's median, which `network_ms` subtracts from the client's."""

    def to_dict(self) -> dict[str, float | None]:
        return {
            "p95_ms": self.p95_ms,
            "p50_ms": self.p50_ms,
            "error_rate": self.error_rate,
            "requests": self.requests,
        }


def network_ms(client_p50_ms: float, server_p50_ms: float) -> float:
    """The client's own time per request beyond the server's, in ms: the gap between the
    client's and the server's medians over the same run (network, connection and the load
    generator's own overhead), never negative."""
    return max(0.0, client_p50_ms - server_p50_ms)


def p95_agrees(client_ms: float, server_ms: float, network_time_ms: float) -> bool:
    """Whether the client's and the server's percentile agree: the client's value lies
    within AGREEMENT_TOLERANCE of the server's, or above it by at most that plus
    `network_time_ms` (the client also times the network; the server cannot)."""
    slack = AGREEMENT_TOLERANCE * server_ms
    return server_ms - slack <= client_ms <= server_ms + slack + network_time_ms


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


def _scalar(client: httpx.Client, url: str, query: str, at_s: float) -> float | None:
    result = _vector(client, url, query, at_s)
    if not result:
        return None
    value = float(result[0]["value"][1])
    return value if math.isfinite(value) else None


def _ms(seconds: float | None) -> float | None:
    return seconds * 1000.0 if seconds is not None else None


def instance_matcher(base_urls: Sequence[str]) -> Matcher:
    """Selects the scrape targets at the hosts a load test hit (`instance` is the host:port
    Prometheus scrapes), so other services the same Prometheus scrapes stay out."""
    hosts = sorted({urlsplit(url).netloc for url in base_urls})
    return Matcher(names.LABEL_INSTANCE, "|".join(re.escape(host) for host in hosts), "=~")


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

        def quantile_s(q: float) -> float | None:
            query = promql.quantile(q, window, by=(), matchers=matchers)
            return _scalar(client, url, query, end_s)

        p95, p50 = quantile_s(percentile), quantile_s(0.5)
        ratio = _scalar(client, url, promql.error_ratio(window, by=(), matchers=matchers), end_s)
        requests = _scalar(client, url, promql.requests_in(window, matchers=matchers), end_s)
    return ServerFigures(p95_ms=_ms(p95), error_rate=ratio, requests=requests, p50_ms=_ms(p50))
