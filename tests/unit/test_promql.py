"""collector.promql: the queries every rule, dashboard and --prometheus figure runs."""

import re

import pytest

from collector import conventions as names
from collector import promql
from collector.exposition import HistogramFamily, floatToGoString, render
from collector.promql import Matcher
from collector.recorder import HistogramSeries
from collector.sla import DEFAULT_SLA_YAML, default_sla, parse_sla


@pytest.mark.parametrize("code", range(100, 600))
def test_the_error_regex_and_is_error_code_agree_on_every_status(code: int) -> None:
    # PromQL regexes are anchored at both ends, as fullmatch is.
    matched = re.fullmatch(names.ERROR_CODE_REGEX, str(code)) is not None
    assert matched is names.is_sla_error(code)


def test_errors_are_5xx_and_requests_that_got_no_response_not_4xx() -> None:
    assert names.is_sla_error(500) and names.is_sla_error(503)
    assert names.is_sla_error(names.CLIENT_CLOSED_CODE)
    assert not names.is_sla_error(404) and not names.is_sla_error(429)


def test_the_error_ratio_is_errors_over_every_request_and_zero_without_errors() -> None:
    assert promql.error_ratio("5m") == (
        '(sum by (service) (rate(loadwatch_http_requests_total{code=~"5..|499"}[5m]))'
        " or 0 * sum by (service) (rate(loadwatch_http_requests_total[5m])))"
        " / sum by (service) (rate(loadwatch_http_requests_total[5m]))"
    )


@pytest.mark.parametrize("openmetrics", [False, True])
def test_le_is_written_as_the_exposition_writes_the_bound(openmetrics: bool) -> None:
    bounds = names.duration_buckets(default_sla())
    series = HistogramSeries(("course",), len(bounds))
    series.counts[0] = 1
    family = HistogramFamily("h_seconds", "help", ("service",), bounds, [series])
    text = render([family], openmetrics=openmetrics)
    for threshold in (0.2, 1.0):
        assert f'le="{promql.le_value(threshold)}"' in text
    assert promql.le_value(0.2) == "0.2"
    assert promql.le_value(1.0) == "1.0"


@pytest.mark.parametrize("threshold", ["200ms", "1s", "350ms", "2.5s", "10s", "733.1ms"])
def test_le_values_are_the_expositions_for_every_bucket_bound(threshold: str) -> None:
    sla = parse_sla(DEFAULT_SLA_YAML.replace("threshold: 200ms", f"threshold: {threshold}"))
    for bound in names.duration_buckets(sla):
        assert promql.le_value(bound) == floatToGoString(bound)


def test_the_latency_ratio_reads_the_bucket_at_the_threshold() -> None:
    assert promql.over_threshold_ratio("1h", 0.2) == (
        "1 - sum by (service) (rate("
        'loadwatch_http_request_duration_seconds_bucket{le="0.2"}[1h]))'
        " / sum by (service) (rate(loadwatch_http_request_duration_seconds_count[1h]))"
    )


def test_an_overridden_route_is_judged_by_its_own_bound() -> None:
    query = promql.over_threshold_ratio(
        "5m",
        0.2,
        matchers=[Matcher("service", "course")],
        route_thresholds={"/ai/generate": 1.0, "/same": 0.2},
    )
    assert (
        'bucket{service="course",route!="/ai/generate",le="0.2"}[5m])'
        ' or rate(loadwatch_http_request_duration_seconds_bucket{service="course",'
        'route="/ai/generate",le="1.0"}[5m])'
    ) in query
    assert "/same" not in query  # the same bound as the service's needs no special case


def test_quantiles_read_the_native_histogram_and_keep_the_labels_asked_for() -> None:
    assert promql.quantile(0.99, "5m") == (
        "histogram_quantile(0.99, sum by (service) "
        "(rate(loadwatch_http_request_duration_native_seconds[5m])))"
    )
    assert promql.quantile(0.5, "1m", by=(), matchers=[Matcher("route", "/x")]) == (
        "histogram_quantile(0.5, sum("
        'rate(loadwatch_http_request_duration_native_seconds{route="/x"}[1m])))'
    )


def test_classic_quantiles_keep_the_labels_asked_for_and_le() -> None:
    assert promql.classic_quantile(0.99, "5m") == (
        "histogram_quantile(0.99, sum by (service, le) "
        "(rate(loadwatch_http_request_duration_seconds_bucket[5m])))"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(14.4 * (1 - 0.999), "0.0144"), (1 - 0.95, "0.05"), (0.1 + 0.2, "0.3"), (1000.0, "1000")],
)
def test_thresholds_are_rounded_to_what_was_meant(value: float, text: str) -> None:
    assert promql.number(value) == text


def test_matcher_values_are_escaped_and_operators_checked() -> None:
    assert str(Matcher("route", 'a"b\\c')) == 'route="a\\"b\\\\c"'
    with pytest.raises(ValueError, match="matcher operator"):
        Matcher("route", "x", "==")
