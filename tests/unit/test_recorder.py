import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from collector.conventions import duration_buckets
from collector.recorder import RequestRecorder, StatementRecorder
from collector.sla import default_sla

BOUNDS = duration_buckets(default_sla())


def reference_buckets(values: list[float]) -> list[float]:
    """Cumulative bucket counts computed by prometheus_client itself."""
    registry = CollectorRegistry()
    hist = Histogram("ref_seconds", "reference", buckets=BOUNDS, registry=registry)
    for value in values:
        hist.observe(value)
    samples = next(iter(registry.collect())).samples
    return [s.value for s in samples if s.name == "ref_seconds_bucket"]


def recorded_buckets(values: list[float], status: int = 200) -> list[int]:
    recorder = RequestRecorder("svc", BOUNDS)
    series = recorder.series("/r", "GET")
    for value in values:
        series.record(status, value)
    recorder.fold()
    return series.cumulative()


def edge_values() -> list[float]:
    out = [0.0]
    for bound in BOUNDS:
        out += [bound, math.nextafter(bound, 0.0), math.nextafter(bound, math.inf)]
    return out


def test_values_on_and_next_to_every_bound_land_where_prometheus_puts_them() -> None:
    values = edge_values()
    assert recorded_buckets(values) == reference_buckets(values)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=100.0, allow_nan=False), max_size=300))
def test_histogram_buckets_equal_prometheus_client_for_any_durations(values: list[float]) -> None:
    assert recorded_buckets(values) == reference_buckets(values)


def test_sum_and_count_match_the_recorded_durations() -> None:
    rng = random.Random(3)
    values = [rng.lognormvariate(-3, 1) for _ in range(5000)]
    recorder = RequestRecorder("svc", BOUNDS)
    series = recorder.series("/r", "GET")
    for value in values:
        series.record(200, value)
    recorder.fold()
    assert series.count == 5000
    assert math.isclose(series.sum_s, sum(values), rel_tol=1e-9)


def test_status_codes_are_counted_exactly_per_code() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    series = recorder.series("/r", "POST")
    for status, n in ((200, 7), (404, 2), (500, 3), (503, 1), (0, 1)):
        for i in range(n):
            series.record(status, 0.001 * (i + 1) if status else 0.2)
    recorder.fold()
    assert series.status_counts == {200: 7, 404: 2, 500: 3, 503: 1, 0: 1}


def test_folding_twice_does_not_count_twice() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    series = recorder.series("/r", "GET")
    series.record(200, 0.05)
    recorder.fold()
    recorder.fold()
    assert series.count == 1
    series.record(200, 0.05)
    recorder.fold()
    assert series.count == 2


def test_a_closed_second_carries_its_requests_errors_and_latencies() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    a = recorder.series("/a", "GET")
    b = recorder.series("/b", "GET")
    for _ in range(98):
        a.record(200, 0.010)
    b.record(500, 0.300)
    b.record(502, 0.300)
    delta = recorder.close_second(1_000)
    assert (delta.second, delta.requests, delta.errors) == (1_000, 100, 2)
    assert delta.latency.count == 100
    assert delta.latency.quantile(0.5) == pytest.approx(0.010, rel=0.01)
    assert delta.latency.quantile(1.0) == pytest.approx(0.300, rel=0.01)
    assert recorder.sketch.count(1_000.5) == 100
    after = recorder.close_second(1_001)
    assert (after.requests, after.errors, after.latency.count) == (0, 0, 0)
    assert recorder.sketch.count(1_001.5) == 100
    assert recorder.sketch.count(1_000 + 61.5) == 0


def test_a_scrape_fold_mid_second_keeps_the_requests_in_that_second() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    series = recorder.series("/a", "GET")
    series.record(200, 0.01)
    recorder.fold()
    series.record(200, 0.02)
    delta = recorder.close_second(5)
    assert delta.requests == 2


def test_series_are_created_once_per_route_and_method() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    assert recorder.series("/a", "GET") is recorder.series("/a", "GET")
    assert recorder.series("/a", "GET") is not recorder.series("/a", "POST")
    assert recorder.series("/a", "GET").label_values == ("svc", "/a", "GET")


def test_bad_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match="bounds_s: expected increasing positive bounds"):
        RequestRecorder("svc", (0.2, 0.1))


def test_statement_families_stay_bounded() -> None:
    statements = StatementRecorder(BOUNDS, max_series=3, overflow_labels=("svc", "<other>"))
    for i in range(10):
        statements.observe(("svc", f"SELECT t{i}"), 0.001)
    labels = [s.label_values for s in statements.all_series()]
    assert len(labels) == 3
    assert ("svc", "<other>") in labels
    other = next(s for s in statements.all_series() if s.label_values == ("svc", "<other>"))
    assert other.count == 8
    assert sum(s.count for s in statements.all_series()) == 10


def test_small_folds_and_vectorized_folds_count_the_same() -> None:
    values = edge_values() + [random.Random(4).lognormvariate(-3, 1.5) for _ in range(500)]
    one_by_one = RequestRecorder("svc", BOUNDS)
    single = one_by_one.series("/r", "GET")
    for value in values:
        single.record(200, value)
        one_by_one.fold()
    batched = RequestRecorder("svc", BOUNDS)
    bulk = batched.series("/r", "GET")
    for value in values:
        bulk.record(200, value)
    batched.fold()
    assert (
        single.counts
        == bulk.counts
        == [
            int(c)
            for c in [
                b - a
                for a, b in zip(
                    [0.0, *reference_buckets(values)], reference_buckets(values), strict=False
                )
            ]
        ]
    )
    assert math.isclose(single.sum_s, bulk.sum_s, rel_tol=1e-12)
    a = one_by_one.close_second(1).latency
    b = batched.close_second(1).latency
    assert a.count == b.count == len(values)
    for q in (0.5, 0.95, 0.99):
        assert a.quantile(q) == pytest.approx(b.quantile(q), rel=0.02)
