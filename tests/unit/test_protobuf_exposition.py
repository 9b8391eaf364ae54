"""The protobuf exposition decoded against the documented io.prometheus.client schema, and
the sketch's buckets checked against the exact native-histogram bucket grid."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary

from collector.exposition import (
    CounterFamily,
    Family,
    GaugeFamily,
    HistogramFamily,
    NativeHistogram,
    NativeHistogramFamily,
)
from collector.protobuf_exposition import (
    encode_client_metrics,
    encode_families,
    native_spans,
    wants_protobuf,
)
from collector.quantiles import LogMapping, QuantileSketch
from collector.recorder import HistogramSeries, RequestRecorder
from tests.unit.protobuf_schema import decode_delimited

PROMETHEUS_2_42_ACCEPT = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def _labels(metric: object) -> dict[str, str]:
    return {pair.name: pair.value for pair in metric.label}  # type: ignore[attr-defined]


def _native_buckets(histogram: object) -> dict[int, int]:
    """Rebuild {index: count} from spans and deltas, as Prometheus does."""
    buckets: dict[int, int] = {}
    index, count, deltas = 0, 0, iter(histogram.positive_delta)  # type: ignore[attr-defined]
    for i, span in enumerate(histogram.positive_span):  # type: ignore[attr-defined]
        index += span.offset if i == 0 else span.offset + 1
        for j in range(span.length):
            count += next(deltas)
            if count:  # a span may run across empty buckets
                buckets[index + j] = count
        index += span.length - 1
    return buckets


def test_prometheus_accept_header_selects_protobuf_and_others_do_not() -> None:
    assert wants_protobuf(PROMETHEUS_2_42_ACCEPT)
    assert not wants_protobuf("application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert not wants_protobuf("application/vnd.google.protobuf;proto=other.Message")
    assert not wants_protobuf(None)


def test_counters_gauges_and_classic_histograms_decode_with_their_values() -> None:
    series = HistogramSeries(("course", "/x"), 3)
    series.counts[:] = [2, 0, 5, 1]
    series.sum_s = 1.75
    data = encode_families(
        [
            CounterFamily("reqs", "Requests.", ("code",), [(("200",), 7), (("503",), 2)]),
            GaugeFamily("inflight", "In flight.", (), [((), 3.5)]),
            HistogramFamily(
                "dur_seconds", "Durations.", ("service", "route"), (0.1, 0.2, 1.0), [series]
            ),
        ]
    )
    counter, gauge, histogram = decode_delimited(data)
    assert (counter.name, counter.type) == ("reqs_total", 0)
    assert [(_labels(m), m.counter.value) for m in counter.metric] == [
        ({"code": "200"}, 7.0),
        ({"code": "503"}, 2.0),
    ]
    assert (gauge.name, gauge.type, gauge.metric[0].gauge.value) == ("inflight", 1, 3.5)
    assert (histogram.name, histogram.type) == ("dur_seconds", 4)
    h = histogram.metric[0].histogram
    assert _labels(histogram.metric[0]) == {"service": "course", "route": "/x"}
    assert (h.sample_count, h.sample_sum) == (8, 1.75)
    assert [(b.upper_bound, b.cumulative_count) for b in h.bucket] == [
        (0.1, 2),
        (0.2, 2),
        (1.0, 7),
    ]


def test_native_spans_start_at_the_first_index_and_count_gaps_between_spans() -> None:
    spans, deltas = native_spans({-30: 2, -29: 5, 4: 1, 40: 3})
    assert spans == [(-30, 2), (32, 1), (35, 1)]
    assert deltas == [2, 3, -4, 2]


def test_a_span_runs_across_up_to_16_empty_buckets_as_zero_counts() -> None:
    spans, deltas = native_spans({0: 2, 3: 1, 20: 4, 38: 1})
    assert spans == [(0, 21), (17, 1)]  # 16 empty buckets between 3 and 20, 17 before 38
    assert deltas == [2, -2, 0, 1, -1, *[0] * 15, 4, -3]


@given(
    st.lists(st.floats(min_value=1e-6, max_value=100.0), min_size=1, max_size=300),
    st.integers(min_value=0, max_value=5),
)
def test_a_sketch_exports_as_a_native_histogram_without_loss(
    values: list[float], zeros: int
) -> None:
    sketch = QuantileSketch(0.01)
    for value in values:
        sketch.add(value)
    for _ in range(zeros):
        sketch.add(0.0)
    schema = sketch.mapping.native_schema
    assert schema == 6
    hist = NativeHistogram(sketch.count, sum(values), sketch.zero_count, dict(sketch.bins))
    (family,) = decode_delimited(
        encode_families(
            [NativeHistogramFamily("n_seconds", "N.", ("s",), schema, [(("a",), hist)])]
        )
    )
    h = family.metric[0].histogram
    assert (h.schema, h.zero_count, h.sample_count) == (6, zeros, len(values) + zeros)
    assert h.sample_sum == pytest.approx(sum(values))
    assert not h.bucket, "a native-only family carries no classic buckets"
    assert _native_buckets(h) == dict(sketch.bins)


def test_an_empty_native_histogram_is_left_out_and_a_zero_only_one_has_the_no_op_span() -> None:
    empty = NativeHistogram(0, 0.0, 0, {})
    zero_only = NativeHistogram(3, 0.0, 3, {})
    (family,) = decode_delimited(
        encode_families(
            [
                NativeHistogramFamily(
                    "n_seconds", "N.", ("s",), 6, [(("a",), empty), (("b",), zero_only)]
                )
            ]
        )
    )
    assert [_labels(m) for m in family.metric] == [{"s": "b"}]
    spans = family.metric[0].histogram.positive_span
    assert [(s.offset, s.length) for s in spans] == [(0, 0)]


def _exact_native_index(value: float, schema: int) -> int:
    """The k with 2**((k-1)/2**s) < value <= 2**(k/2**s), by exact rational arithmetic."""
    power = 2**schema
    k = math.ceil(math.log2(value) * power)
    v = Fraction(value) ** power
    while v > Fraction(2) ** k:
        k += 1
    while v <= Fraction(2) ** (k - 1):
        k -= 1
    return k


@given(st.floats(min_value=1e-4, max_value=1e3, allow_nan=False, allow_infinity=False))
def test_sketch_keys_are_prometheus_native_bucket_indexes(value: float) -> None:
    mapping = LogMapping(0.01)
    exact = _exact_native_index(value, 6)
    key = mapping.key(value)
    if key != exact:  # only a value within float rounding of a bucket edge may land next door
        edge = 2.0 ** (min(key, exact) / 64)
        assert abs(key - exact) == 1 and math.isclose(value, edge, rel_tol=1e-12)


def test_sketch_accuracy_per_schema() -> None:
    assert LogMapping(0.01).schema == 6  # growth 2**(1/64): 0.54 % relative error
    assert LogMapping(0.02).schema == 5
    assert LogMapping(0.001).native_schema is None  # schema 9: finer than Prometheus takes


def test_client_registry_metrics_keep_their_types_and_values() -> None:
    registry = CollectorRegistry()
    Counter("jobs", "Jobs.", ["kind"], registry=registry).labels("a").inc(3)
    Gauge("depth", "Depth.", registry=registry).set(4)
    hist = Histogram("wait_seconds", "Wait.", buckets=(0.1, 1.0), registry=registry)
    hist.observe(0.05)
    hist.observe(0.5)
    Summary("size_bytes", "Size.", registry=registry).observe(10)
    Info("build", "Build.", registry=registry).info({"version": "1"})
    families = {f.name: f for f in decode_delimited(encode_client_metrics(registry.collect()))}
    assert families["jobs_total"].metric[0].counter.value == 3.0
    assert families["depth"].metric[0].gauge.value == 4.0
    h = families["wait_seconds"].metric[0].histogram
    assert (h.sample_count, h.sample_sum) == (2, pytest.approx(0.55))
    assert [(b.upper_bound, b.cumulative_count) for b in h.bucket] == [(0.1, 1), (1.0, 2)]
    s = families["size_bytes"].metric[0].summary
    assert (families["size_bytes"].type, s.sample_count, s.sample_sum) == (2, 1, 10.0)
    assert _labels(families["build_info"].metric[0]) == {"version": "1"}


@pytest.mark.parametrize(
    "buckets",
    [
        {-5: 1, -4: 60, 0: 3},  # every delta fits one byte
        {0: 100, 1: 1, 30: 2000},  # two-byte deltas
        {0: 5000, 1: 100, 2: 70_000_000},  # beyond the lookup tables
    ],
)
def test_native_bucket_counts_of_any_size_decode_as_they_were(buckets: dict[int, int]) -> None:
    total = sum(buckets.values())
    hist = NativeHistogram(total, 1.0, 0, buckets)
    (family,) = decode_delimited(
        encode_families([NativeHistogramFamily("n_seconds", "N.", ("s",), 6, [(("a",), hist)])])
    )
    assert _native_buckets(family.metric[0].histogram) == buckets
    assert family.metric[0].histogram.sample_count == total


def _native_family(hist: NativeHistogram) -> bytes:
    return encode_families([NativeHistogramFamily("n_seconds", "N.", ("s",), 6, [(("a",), hist)])])


@pytest.mark.parametrize(
    "deltas",
    [
        [5000, 63, -63, 64, -64, 1, -65],  # the edges of one-byte zigzag varints
        [10_000, 2047, -2047, 2048, -2048, 1, -2049],  # the edges of the lookup table
        [2**41, 4095, 1, -4096, 4096, -4095, 2**40, -(2**40)],  # lengths 2, 3, 6 and 7
    ],
)
def test_deltas_at_every_varint_length_boundary_decode_exactly(deltas: list[int]) -> None:
    counts = list(itertools.accumulate(deltas))
    assert min(counts) > 0
    buckets = dict(enumerate(counts, start=-3))
    (family,) = decode_delimited(_native_family(NativeHistogram(sum(counts), 1.0, 0, buckets)))
    h = family.metric[0].histogram
    assert list(h.positive_delta) == deltas
    assert [(s.offset, s.length) for s in h.positive_span] == [(-3, len(deltas))]
    assert h.sample_count == sum(counts)


@pytest.mark.parametrize("total", [0, 1, 127, 128, 4095, 4096, 16383, 16384, 2**63 - 1])
def test_classic_counts_at_every_varint_length_boundary_decode_exactly(total: int) -> None:
    series = HistogramSeries(("course",), 2)
    series.counts[:] = [total, 0, 0] if total else [0, 0, 1]
    (family,) = decode_delimited(
        encode_families([HistogramFamily("d_seconds", "D.", ("service",), (0.1, 1.0), [series])])
    )
    h = family.metric[0].histogram
    first = total if total else 0
    assert [b.cumulative_count for b in h.bucket] == [first, first]
    assert h.sample_count == sum(series.counts)


def test_a_series_encodes_afresh_once_a_fold_changes_its_count() -> None:
    recorder = RequestRecorder("svc", (0.1, 1.0))
    route = recorder.series("/r", "GET")
    route.record(200, 0.05)
    recorder.fold()
    first = route.native_histogram()
    assert route.native_histogram() is first, "unchanged: the same snapshot, its cache kept"
    families: list[Family] = [
        NativeHistogramFamily("n_seconds", "N.", ("s",), 6, [(("a",), first)]),
        HistogramFamily("d_seconds", "D.", ("service", "route", "method"), (0.1, 1.0), [route]),
    ]
    before = encode_families(families)
    assert encode_families(families) == before
    route.record(200, 0.5)
    recorder.fold()
    second = route.native_histogram()
    assert second is not first
    families[0] = NativeHistogramFamily("n_seconds", "N.", ("s",), 6, [(("a",), second)])
    native, classic = decode_delimited(encode_families(families))
    assert native.metric[0].histogram.sample_count == 2
    assert _native_buckets(native.metric[0].histogram) == {
        LogMapping(0.01).key(0.05): 1,
        LogMapping(0.01).key(0.5): 1,
    }
    assert [b.cumulative_count for b in classic.metric[0].histogram.bucket] == [1, 2]


def test_a_classic_series_whose_counts_move_but_total_stays_is_encoded_afresh() -> None:
    series = HistogramSeries(("course",), 2)
    series.counts[:] = [1, 0, 0]
    family = HistogramFamily("d_seconds", "D.", ("service",), (0.1, 1.0), [series])
    encode_families([family])
    series.counts[:] = [0, 1, 0]
    (decoded,) = decode_delimited(encode_families([family]))
    assert [b.cumulative_count for b in decoded.metric[0].histogram.bucket] == [0, 1]


@given(
    st.dictionaries(
        st.integers(min_value=-3000, max_value=3000),
        st.integers(min_value=1, max_value=2**40),
        max_size=200,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_cached_and_fresh_encodings_are_the_same_bytes(buckets: dict[int, int], zeros: int) -> None:
    series = HistogramSeries(("course",), 2)
    series.counts[:] = [zeros, len(buckets), 1]
    hist = NativeHistogram(sum(buckets.values()) + zeros, 2.5, zeros, buckets)
    families: list[Family] = [
        NativeHistogramFamily("n_seconds", "N.", ("s",), 6, [(("a",), hist)]),
        HistogramFamily("d_seconds", "D.", ("s",), (0.1, 1.0), [series]),
    ]
    fresh = encode_families(families)
    assert series.protobuf_cache is not None
    assert (hist.protobuf_cache is not None) == (hist.count > 0), "an empty one is left out"
    assert encode_families(families) == fresh
    hist.protobuf_cache = series.protobuf_cache = None
    assert encode_families(families) == fresh
    if hist.count:
        (native, _) = decode_delimited(fresh)
        assert _native_buckets(native.metric[0].histogram) == buckets
