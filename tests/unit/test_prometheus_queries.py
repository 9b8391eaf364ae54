"""The pure side of `loadtests.prometheus`: queries, the bucket that holds a value, and
when a client's p95 and a server's p95 agree."""

import pytest

from collector import promql
from collector.promql import Matcher
from loadtests.prometheus import ServerFigures, holding_bucket, p95_agrees

BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.18, 0.2)


@pytest.mark.parametrize(
    ("value", "bucket"),
    [
        (0.0005, (0.0, 0.001)),
        (0.001, (0.0, 0.001)),  # upper bounds are inclusive, as `le` is
        (0.0011, (0.001, 0.0025)),
        (0.19, (0.18, 0.2)),
        (0.2, (0.18, 0.2)),
        (0.21, None),  # beyond the last finite bound: the +Inf bucket has no upper edge
    ],
)
def test_holding_bucket(value: float, bucket: tuple[float, float] | None) -> None:
    assert holding_bucket(value, BOUNDS) == bucket


@pytest.mark.parametrize(
    ("client_ms", "server_ms", "bucket_ms", "agrees"),
    [
        (110.0, 100.0, (50.0, 100.0), True),  # exactly 10 % apart
        (110.5, 100.0, (50.0, 100.0), False),  # further, and outside the bucket
        (8.5, 6.0, (5.0, 10.0), True),  # 42 % apart but in the server's bucket
        (4.9, 6.0, (5.0, 10.0), False),  # below the bucket's (exclusive) lower edge
        (10.0, 6.0, (5.0, 10.0), True),  # the upper edge is inclusive
        (30.0, 300.0, None, False),  # no bucket known: the 10 % rule alone
        (290.0, 300.0, None, True),
    ],
)
def test_p95_agrees(
    client_ms: float, server_ms: float, bucket_ms: tuple[float, float] | None, agrees: bool
) -> None:
    assert p95_agrees(client_ms, server_ms, bucket_ms) is agrees


def test_the_run_queries_name_the_collectors_histogram_and_the_windows_length() -> None:
    window = promql.window_of(9.2)
    course = [Matcher("service", "course")]
    assert promql.quantile(0.95, window, by=(), matchers=course) == (
        "histogram_quantile(0.95, sum by (le) (rate("
        'loadwatch_http_request_duration_seconds_bucket{service="course"}[10s])))'
    )
    assert promql.bucket_bounds(promql.window_of(3.0)) == (
        "count by (le) (last_over_time(loadwatch_http_request_duration_seconds_bucket[3s]))"
    )
    assert promql.requests_in(window) == "sum(increase(loadwatch_http_requests_total[10s]))"


def test_server_figures_flatten_the_bucket_for_the_report() -> None:
    figures = ServerFigures(p95_ms=7.5, error_rate=0.0, requests=10.0, p95_bucket_ms=(5.0, 10.0))
    assert figures.to_dict() == {
        "p95_ms": 7.5,
        "p95_bucket_low_ms": 5.0,
        "p95_bucket_high_ms": 10.0,
        "error_rate": 0.0,
        "requests": 10.0,
    }
