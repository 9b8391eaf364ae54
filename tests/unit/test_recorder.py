import math
import random
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from collector import protobuf_exposition as protobuf_module
from collector import recorder as recorder_module
from collector.conventions import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUEST_DURATION_NATIVE,
    duration_buckets,
)
from collector.instrumentation import Instrumentation, shared_collector
from collector.middleware import render_metrics
from collector.protobuf_exposition import CONTENT_TYPE_PROTOBUF
from collector.recorder import RequestRecorder, StatementRecorder
from collector.sla import default_sla
from tests.unit.protobuf_schema import decode_delimited

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


def test_each_request_counts_in_the_second_it_completed_in() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    recorder.clock_offset_s = 1_000.0  # Unix time = end_s + 1000
    series = recorder.series("/r", "GET")
    series.record(200, 0.01, end_s=0.5)  # second 1000
    series.record(500, 0.02, end_s=0.999)  # second 1000
    recorder.fold()  # a scrape between the requests does not change their seconds
    series.record(200, 0.03, end_s=1.2)  # second 1001, appended before 1000 is closed
    first = recorder.close_second(1_000)
    assert (first.second, first.requests, first.errors, first.latency.count) == (1_000, 2, 1, 2)
    second = recorder.close_second(1_001)
    assert (second.requests, second.errors) == (1, 0)
    assert second.latency.quantile(1.0) == pytest.approx(0.03, rel=0.01)
    assert series.count == 3


@pytest.mark.parametrize("n", [5, 400], ids=["loop fold", "vectorized fold"])
def test_a_fold_spanning_several_seconds_splits_them_exactly(n: int) -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    recorder.clock_offset_s = 2_000.0
    series = recorder.series("/r", "GET")
    expected: dict[int, list[float]] = {2_000: [], 2_001: [], 2_002: []}
    for i in range(n):
        second = 2_000 + i % 3
        duration = 0.0 if i % 7 == 0 else 0.001 * (i + 1)
        series.record(503 if i % 5 == 0 else 200, duration, end_s=second - 2_000 + 0.25)
        expected[second].append(duration)
    deltas = [recorder.close_second(second) for second in (2_000, 2_001, 2_002)]
    for delta in deltas:
        values = expected[delta.second]
        assert delta.requests == delta.latency.count == len(values)
        assert delta.latency.zero_count == values.count(0.0)
        assert delta.latency.quantile(1.0) == pytest.approx(max(values), rel=0.01)
    assert sum(d.errors for d in deltas) == len(range(0, n, 5))
    assert series.count == n


def test_requests_left_open_by_an_earlier_second_join_the_next_close() -> None:
    recorder = RequestRecorder("svc", BOUNDS)
    series = recorder.series("/r", "GET")
    series.record(200, 0.01, end_s=97.0)  # its second (97) was never closed
    series.record(200, 0.01, end_s=99.5)
    delta = recorder.close_second(99)
    assert delta.requests == 2
    assert recorder.close_second(100).requests == 0


def _yield_at_every_opcode_of(module_file: str) -> Callable[[FrameType, str, Any], Any]:
    """A thread's trace function that hands the GIL to other threads between every two
    bytecodes run in `module_file`: each interleaving point there gets exercised."""

    def each_opcode(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            time.sleep(0)  # releases the GIL: the appending thread runs here
        return each_opcode

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != module_file:
            return None
        frame.f_trace_opcodes = True
        return each_opcode

    return on_call


def test_folds_and_closes_from_other_threads_lose_and_double_count_nothing() -> None:
    """One thread appends as the hot path does while two threads scrape (fold + render
    through a real registry) and one closes seconds, all three yielding the GIL between
    every two bytecodes of the recorder; every request is counted exactly once."""
    registry = CollectorRegistry()
    inst = Instrumentation("svc", default_sla())
    collector = shared_collector(registry)
    collector.attach(inst)
    recorder = inst.requests
    series = recorder.series("/r", "GET")
    append = series.append
    total = 6_000
    scraping = threading.Event()
    writing_done = threading.Event()
    closed: list[int] = []
    errors: list[BaseException] = []
    tracer = _yield_at_every_opcode_of(recorder_module.__file__)

    def write() -> None:
        scraping.wait()
        try:
            for i in range(total):
                append((500 if i % 10 == 0 else 200, 0.001 * (1 + i % 50), float(i // 100)))
                time.sleep(0)  # let a fold run on between two appends
        finally:
            writing_done.set()

    def scrape() -> None:
        sys.settrace(tracer)
        scraping.set()
        try:
            while not writing_done.is_set():
                generate_latest(registry)
        except BaseException as exc:
            errors.append(exc)

    def close() -> None:
        sys.settrace(tracer)
        second = 0
        try:
            while not writing_done.is_set():
                closed.append(recorder.close_second(second).requests)
                second += 1
        except BaseException as exc:
            errors.append(exc)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=f) for f in (write, scrape, scrape, close)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []
    closed.append(recorder.close_second(10**6).requests)
    assert sum(closed) == total
    assert series.count == total
    assert series.status_counts == {200: total * 9 // 10, 500: total // 10}
    counts = [
        s.value
        for family in parse_text(generate_latest(registry).decode())
        for s in family.samples
        if s.name == f"{HTTP_REQUEST_DURATION}_count"
    ]
    assert counts == [total]


def test_a_protobuf_scrape_beside_folds_in_another_thread_is_consistent() -> None:
    """A protobuf scrape encodes the classic series in place, so it must hold the recorders'
    locks as the text render does: one thread folds new requests in while another scrapes,
    both yielding the GIL between every two bytecodes; in every scrape each classic
    histogram's count equals its +Inf bucket and the native histogram's count."""
    registry = CollectorRegistry()
    inst = Instrumentation("svc", default_sla())
    collector = shared_collector(registry)
    collector.attach(inst)
    series = inst.requests.series("/r", "GET")
    folding_done = threading.Event()
    scrapes: list[bytes] = []
    errors: list[BaseException] = []
    tracer = _yield_at_every_opcode_of(recorder_module.__file__)
    encoder_tracer = _yield_at_every_opcode_of(protobuf_module.__file__)

    def fold() -> None:
        sys.settrace(tracer)
        try:
            for i in range(40):
                for j in range(5):
                    series.record(200, 0.001 * (1 + (i + j) % 40))
                inst.requests.fold()
        except BaseException as exc:
            errors.append(exc)
        finally:
            folding_done.set()

    def scrape() -> None:
        sys.settrace(encoder_tracer)
        try:
            while not folding_done.is_set():
                scrapes.append(render_metrics(registry, collector, CONTENT_TYPE_PROTOBUF)[0])
        except BaseException as exc:
            errors.append(exc)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=f) for f in (fold, scrape)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []
    assert scrapes, "the scraper ran while the folds did"
    for body in scrapes:
        by_name = {family.name: family for family in decode_delimited(body)}
        if HTTP_REQUEST_DURATION not in by_name:
            continue
        classic = by_name[HTTP_REQUEST_DURATION].metric[0].histogram
        native = by_name[HTTP_REQUEST_DURATION_NATIVE].metric[0].histogram
        assert classic.sample_count == classic.bucket[-1].cumulative_count
        assert classic.sample_count == native.sample_count
