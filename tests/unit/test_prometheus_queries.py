"""The pure side of `loadtests.prometheus`: queries, the client's network time, and when a
client's p95 and a server's p95 agree."""

import pytest

from collector import promql
from collector.promql import Matcher
from loadtests.prometheus import ServerFigures, network_ms, p95_agrees


@pytest.mark.parametrize(
    ("client_ms", "server_ms", "network", "agrees"),
    [
        (102.0, 100.0, 0.0, True),  # exactly 2 % above, no network time
        (102.5, 100.0, 0.0, False),  # further above, and nothing to explain it
        (98.0, 100.0, 0.0, True),  # exactly 2 % below
        (97.9, 100.0, 5.0, False),  # below: network time only ever adds to the client's
        (107.0, 100.0, 5.0, True),  # 2 % plus 5 ms of network
        (107.1, 100.0, 5.0, False),
        (8.5, 6.0, 0.5, False),  # inside the 5-10 ms classic bucket no longer suffices
    ],
)
def test_p95_agrees_within_two_percent_plus_the_network_time(
    client_ms: float, server_ms: float, network: float, agrees: bool
) -> None:
    assert p95_agrees(client_ms, server_ms, network) is agrees


@pytest.mark.parametrize(
    ("client_p50", "server_p50", "network"), [(12.5, 10.0, 2.5), (9.0, 10.0, 0.0)]
)
def test_the_network_time_is_the_gap_between_the_medians_never_negative(
    client_p50: float, server_p50: float, network: float
) -> None:
    assert network_ms(client_p50, server_p50) == network


def test_the_run_queries_read_the_native_histogram_over_the_windows_length() -> None:
    window = promql.window_of(9.2)
    course = [Matcher("service", "course")]
    assert promql.quantile(0.95, window, by=(), matchers=course) == (
        "histogram_quantile(0.95, sum(rate("
        'loadwatch_http_request_duration_native_seconds{service="course"}[10s])))'
    )
    assert promql.requests_in(window) == "sum(increase(loadwatch_http_requests_total[10s]))"


def test_server_figures_flatten_for_the_report() -> None:
    figures = ServerFigures(p95_ms=7.5, error_rate=0.0, requests=10.0, p50_ms=3.0)
    assert figures.to_dict() == {
        "p95_ms": 7.5,
        "p50_ms": 3.0,
        "error_rate": 0.0,
        "requests": 10.0,
    }


def test_the_server_side_is_scoped_to_the_load_tested_hosts() -> None:
    from loadtests.prometheus import instance_matcher

    matcher = instance_matcher(["http://127.0.0.1:8101", "http://127.0.0.1:8102/", "http://a.b"])
    assert (
        str(matcher) == 'instance=~"127\\\\.0\\\\.0\\\\.1:8101|127\\\\.0\\\\.0\\\\.1:8102|a\\\\.b"'
    )
