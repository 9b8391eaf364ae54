"""Prometheus' protobuf exposition (delimited `io.prometheus.client.MetricFamily`), pure.

This is the only format that carries native histograms, so `/metrics` answers it when the
scraper asks (`wants_protobuf`): Prometheus does, first, once its `native-histograms` feature
is on. Every family of the scrape goes into it: loadwatch's own (`Family`, including
`NativeHistogramFamily`) and whatever else the `prometheus_client` registry holds.

The messages are encoded directly from the documented schema (client_model's
`metrics.proto`: MetricFamily, Metric, LabelPair, Counter, Gauge, Untyped, Summary,
Histogram with classic Bucket and native BucketSpan fields); the tests decode the output with
the `protobuf` package against that schema.

Cost (`benchmarks/bench_scrape.py`, docs/native-histograms.md#cost): each series' encoded
Metric is cached on it (the classic one on `HistogramSeries` while its counts and sum are
the same, the native one on the `NativeHistogram` that `RouteSeries` hands out again while
its count is unchanged), so a series idle since the last scrape costs a comparison and the
scrape is cheaper than the text render. A changed native series has its last spans and
deltas patched where its buckets changed (`native_incremental`, else `native_batch` over
the dense buckets the fold keeps); changed classic series are encoded together
(`classic_batch`): below the text render's cost when every series changed.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from prometheus_client.metrics_core import Metric

from collector import classic_batch, native_incremental
from collector.exposition import (
    CounterFamily,
    Family,
    GaugeFamily,
    HistogramFamily,
    NativeHistogramFamily,
)
from collector.native_incremental import Encoded
from collector.recorder import HistogramSeries, NativeHistogram
from collector.varint import TABLE_SIZE, VARINTS, varint

__all__ = [
    "CONTENT_TYPE_PROTOBUF",
    "encode_client_metrics",
    "encode_families",
    "native_spans",
    "wants_protobuf",
]

CONTENT_TYPE_PROTOBUF = (
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)
_PROTOBUF_MEDIA = "application/vnd.google.protobuf"

# MetricType enum values.
_COUNTER, _GAUGE, _SUMMARY, _UNTYPED, _HISTOGRAM = 0, 1, 2, 3, 4

_pack_double = struct.Struct("<d").pack


def wants_protobuf(accept_header: str | None) -> bool:
    """Whether the Accept header asks for the delimited MetricFamily protobuf format."""
    if not accept_header:
        return False
    for part in accept_header.split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0] != _PROTOBUF_MEDIA:
            continue
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if (
            params.get("proto") == "io.prometheus.client.MetricFamily"
            and params.get("encoding", "delimited") == "delimited"
        ):
            return True
    return False


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _len_field(field: int, payload: bytes) -> bytes:
    return VARINTS[field << 3 | 2] + varint(len(payload)) + payload


def _str_field(field: int, text: str) -> bytes:
    return _len_field(field, text.encode("utf-8", "surrogatepass"))


def _uint_field(field: int, value: int) -> bytes:
    return VARINTS[field << 3] + varint(value)


def _double_field(field: int, value: float) -> bytes:
    return VARINTS[field << 3 | 1] + _pack_double(value)


def _metric_field(metric: bytes) -> bytes:
    """A Metric as `MetricFamily.metric` (field 4)."""
    return b"\x22" + varint(len(metric)) + metric


@functools.lru_cache(maxsize=8192)
def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> bytes:
    """Encoded `Metric.label` fields (field 1), one LabelPair per name; cached per label
    set, as the text renderer caches its series prefixes."""
    return b"".join(
        _len_field(1, _str_field(1, n) + _str_field(2, v))
        for n, v in zip(names, values, strict=True)
    )


@functools.lru_cache(maxsize=1024)
def _family_head(name: str, help_text: str, kind: int) -> bytes:
    return _str_field(1, name) + _str_field(2, help_text) + _uint_field(3, kind)


def _family(name: str, help_text: str, kind: int, metric_fields: list[bytes]) -> bytes:
    """A delimited MetricFamily; `metric_fields` are already `_metric_field`s."""
    body = _family_head(name, help_text, kind) + b"".join(metric_fields)
    return varint(len(body)) + body


_SCALAR_HEADS = {field: bytes((field << 3 | 2, 9, 0x09)) for field in (2, 3, 5)}
"""A Gauge (2), Counter (3) or Untyped (5) field holding one double `value` (field 1)."""


def _scalar(field: int, labels: bytes, value: float) -> bytes:
    """A Metric field with `labels` and a Counter/Gauge/Untyped (field 3/2/5) of `value`."""
    return b"\x22" + varint(len(labels) + 11) + labels + _SCALAR_HEADS[field] + _pack_double(value)


@functools.lru_cache(maxsize=8192)
def _scalar_head(field: int, names: tuple[str, ...], values: tuple[str, ...]) -> bytes:
    """`_scalar` up to its value, per label set: a row then costs one concatenation."""
    return _scalar(field, _labels(names, values), 0.0)[:-8]


@functools.lru_cache(maxsize=64)
def _bound_fields(bounds_s: tuple[float, ...]) -> tuple[bytes, ...]:
    """Each bucket's encoded `upper_bound` field (2), once per bucket layout."""
    return tuple(_double_field(2, bound) for bound in bounds_s)


def _bucket_head(count: int) -> bytes:
    """A `bucket` field (3) up to its bound: tag, length, `cumulative_count` (1).

    A Bucket is (count, bound) in any field order; its length (at most 20) is one byte."""
    count_field = b"\x08" + varint(count)
    return bytes((0x1A, len(count_field) + 9)) + count_field


_BUCKET_HEADS = [_bucket_head(v) for v in range(TABLE_SIZE)]


def _classic_buckets(cumulative: list[int], bound_fields: tuple[bytes, ...]) -> bytes:
    try:
        heads = list(map(_BUCKET_HEADS.__getitem__, cumulative))
    except IndexError:  # a count past the table
        heads = list(map(_bucket_head, cumulative))
    return b"".join(map(operator.add, heads, bound_fields))


def _classic_key(family: HistogramFamily, series: HistogramSeries) -> tuple[object, ...]:
    """What a series' encoding depends on (its counts at index 3)."""
    return (
        family.label_names,
        family.bounds_s,
        series.label_values,
        tuple(series.counts),
        series.sum_s,
    )


def _classic_metric(
    family: HistogramFamily, series: HistogramSeries, buckets: bytes, count: int
) -> bytes:
    body = _uint_field(1, count) + _double_field(2, series.sum_s) + buckets
    labels = _labels(family.label_names, series.label_values)
    return _metric_field(labels + _len_field(7, body))


def _classic_histogram(family: HistogramFamily, series: HistogramSeries) -> bytes:
    """The series' Metric field, bucket by bucket (the reference for `classic_batch`)."""
    cumulative = list(itertools.accumulate(series.counts))
    buckets = _classic_buckets(cumulative[:-1], _bound_fields(family.bounds_s))
    return _classic_metric(family, series, buckets, cumulative[-1])


_BATCH_FROM = 16
"""Changed series from which their bucket fields are encoded together (`classic_batch`):
below, numpy's fixed cost per call exceeds the ~5 us a series of the Python path."""


def _classic_histograms(family: HistogramFamily) -> list[bytes]:
    """The family's Metric fields. Each is cached on its series while its counts and sum are
    the same (an idle series costs a tuple comparison); the changed ones are encoded
    together, vectorized, when there are many."""
    metrics: list[bytes | None] = []
    fresh: list[tuple[int, HistogramSeries, tuple[object, ...]]] = []
    for series in family.series:
        if not any(series.counts):
            continue
        key = _classic_key(family, series)
        cache = series.protobuf_cache
        if isinstance(cache, tuple) and cache[0] == key:
            metrics.append(cache[1])
        else:
            fresh.append((len(metrics), series, key))
            metrics.append(None)
    if len(fresh) >= _BATCH_FROM and family.bounds_s:
        counts = np.array([s.counts for _, s, _ in fresh], dtype=np.int64)
        cumulative = np.cumsum(counts, axis=1)
        buckets = classic_batch.bucket_fields(cumulative[:, :-1], _bound_fields(family.bounds_s))
        totals = cumulative[:, -1].tolist()
        encoded = [
            _classic_metric(family, s, b, n)
            for (_, s, _), b, n in zip(fresh, buckets, totals, strict=True)
        ]
    else:
        encoded = [_classic_histogram(family, s) for _, s, _ in fresh]
    for (at, series, key), metric in zip(fresh, encoded, strict=True):
        series.protobuf_cache = (key, metric)
        metrics[at] = metric
    return [m for m in metrics if m is not None]


_MAX_GAP = 16
"""Up to this many empty buckets between two non-empty ones travel as zero counts inside one
span (a zero costs one byte; a new span costs six or more; client_golang merges gaps of up
to 2)."""


_ONES = itertools.repeat(1)
"""Endless constants for `map` (which stops at its shortest argument)."""
_ZEROS = itertools.repeat(0)
_GAP_LIMITS = itertools.repeat(_MAX_GAP + 1)


def _layout(buckets: Mapping[int, int]) -> tuple[list[int], list[int], list[int]]:
    """(span offsets, span lengths, deltas); see `native_spans`. Loops run in C (`map`)."""
    indices = sorted(buckets)
    if not indices:
        return [], [], []
    first, last = indices[0], indices[-1]
    if last - first + 1 - len(indices) <= _MAX_GAP:  # too few empty buckets for a cut
        firsts, lasts = [first], [last]
    else:
        gaps = map(operator.sub, indices[1:], indices)
        cuts = list(itertools.compress(range(1, len(indices)), map(operator.gt, gaps, _GAP_LIMITS)))
        firsts = [first, *map(indices.__getitem__, cuts)]
        lasts = [*map(indices.__getitem__, map(operator.sub, cuts, _ONES)), last]
    ends = list(map(operator.add, lasts, _ONES))
    offsets = [first, *map(operator.sub, firsts[1:], ends)]
    lengths = list(map(operator.sub, ends, firsts))
    covered = itertools.chain.from_iterable(map(range, firsts, ends))
    counts = list(map(buckets.get, covered, _ZEROS))
    deltas = list(map(operator.sub, counts, itertools.chain((0,), counts)))
    return offsets, lengths, deltas


def native_spans(buckets: Mapping[int, int]) -> tuple[list[tuple[int, int]], list[int]]:
    """(spans as (offset, length), deltas) covering the buckets, as the schema wants: the
    reference for what `native_batch` encodes (one histogram, plain Python ints).

    The first span's offset is the first index; later offsets are the gaps between spans.
    A span runs on across up to `_MAX_GAP` empty buckets (sent as zero counts). Deltas are
    each covered bucket's count minus the previous one (the first minus zero).
    """
    offsets, lengths, deltas = _layout(buckets)
    return list(zip(offsets, lengths, strict=True)), deltas


_NO_OP_SPAN = _len_field(12, b"\x08\x00\x10\x00")
"""The no-op span (offset 0, length 0): "this is a native histogram, still empty"."""
_SCHEMA_AND_ZERO_THRESHOLD = {
    schema: _uint_field(5, _zigzag(schema)) + _double_field(6, 0.0) for schema in range(-4, 9)
}


def _native_histograms(family: NativeHistogramFamily) -> list[bytes]:
    """The family's Metric fields. Each is cached on its `NativeHistogram` (which
    `RouteSeries` hands out again while its count is unchanged, so an idle series costs a
    lookup); a changed one has its last spans and deltas patched where its buckets changed
    (`native_incremental`), or else they are encoded afresh with the others, vectorized."""
    schema, names = family.schema, family.label_names
    metrics: list[bytes] = []
    fresh: list[tuple[int, bytes, NativeHistogram]] = []
    for values, hist in family.rows:
        if not hist.count:
            continue
        labels = _labels(names, values)
        cache = hist.protobuf_cache
        if isinstance(cache, Encoded) and cache.schema == schema and cache.labels == labels:
            metrics.append(cache.metric)
        else:
            fresh.append((len(metrics), labels, hist))
            metrics.append(b"")
    if not fresh:
        return metrics
    with_buckets = [hist for _, _, hist in fresh if hist.buckets]
    encoded = iter(native_incremental.span_and_delta_fields(with_buckets, _MAX_GAP))
    head = _SCHEMA_AND_ZERO_THRESHOLD[schema]
    for at, labels, hist in fresh:
        fields, state = next(encoded) if hist.buckets else (_NO_OP_SPAN, None)
        body = b"".join(
            (
                b"\x08",  # count (1)
                varint(hist.count),
                b"\x11",  # sum (2)
                _pack_double(hist.sum_s),
                head,
                b"\x38",  # zero_count (7)
                varint(hist.zero_count),
                fields,
            )
        )
        inner = labels + b"\x3a" + varint(len(body)) + body  # histogram (7)
        metric = metrics[at] = b"\x22" + varint(len(inner)) + inner
        version = state.version if state is not None else 0
        hist.protobuf_cache = Encoded(schema, labels, metric, state, version)
    return metrics


def encode_families(families: Iterable[Family]) -> bytes:
    """loadwatch's families as delimited MetricFamily messages (empty families left out)."""
    out: list[bytes] = []
    for family in families:
        if isinstance(family, HistogramFamily):
            metrics = _classic_histograms(family)
            kind = _HISTOGRAM
        elif isinstance(family, NativeHistogramFamily):
            metrics = _native_histograms(family)
            kind = _HISTOGRAM
        else:
            assert isinstance(family, CounterFamily | GaugeFamily)
            field, kind = (3, _COUNTER) if isinstance(family, CounterFamily) else (2, _GAUGE)
            names = family.label_names
            metrics = [
                _scalar_head(field, names, values) + _pack_double(value)
                for values, value in family.rows
            ]
        if metrics:
            name = f"{family.name}_total" if isinstance(family, CounterFamily) else family.name
            head = _family_head(name, family.help, kind)  # joined once, below: no copies
            out += (varint(len(head) + sum(map(len, metrics))), head)
            out += metrics
    return b"".join(out)


def _sample_labels(labels: Mapping[str, str], drop: str = "") -> bytes:
    kept = [(n, v) for n, v in labels.items() if n != drop]
    return _labels(tuple(n for n, _ in kept), tuple(v for _, v in kept))


def encode_client_metrics(metrics: Iterable[Metric]) -> bytes:
    """`prometheus_client` metric families (from `registry.collect()`) as delimited messages.

    Counters, gauges, histograms and summaries keep their type; info and stateset become
    gauges and anything else untyped, as client_golang exposes them. `_created` samples are
    left out (the text format's `_created` has no field in this schema).
    """
    out: list[bytes] = []
    for metric in metrics:
        if metric.type == "counter":
            rows = [
                _scalar(3, _sample_labels(s.labels), s.value)
                for s in metric.samples
                if s.name.endswith("_total")
            ]
            out.append(_family(metric.name + "_total", metric.documentation, _COUNTER, rows))
        elif metric.type in ("histogram", "summary"):
            out.append(_grouped(metric))
        elif metric.type in ("gauge", "info", "stateset"):
            name = metric.name + "_info" if metric.type == "info" else metric.name
            rows = [_scalar(2, _sample_labels(s.labels), s.value) for s in metric.samples]
            out.append(_family(name, metric.documentation, _GAUGE, rows))
        else:
            rows = [
                _scalar(5, _sample_labels(s.labels), s.value)
                for s in metric.samples
                if not s.name.endswith("_created")
            ]
            out.append(_family(metric.name, metric.documentation, _UNTYPED, rows))
    return b"".join(m for m in out if m)


@dataclass(slots=True)
class _Group:
    """The samples of one label set of a histogram or summary, being gathered."""

    labels: bytes
    parts: list[bytes]
    count: int = 0
    sum: float = 0.0


def _grouped(metric: Metric) -> bytes:
    """A histogram or summary: one Metric per label set, built from its samples."""
    is_histogram = metric.type == "histogram"
    special = "le" if is_histogram else "quantile"
    groups: dict[tuple[tuple[str, str], ...], _Group] = {}
    for s in metric.samples:
        key = tuple(sorted((n, v) for n, v in s.labels.items() if n != special))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(_sample_labels(s.labels, drop=special), [])
        suffix = s.name[len(metric.name) :]
        if suffix == "_count":
            group.count = int(s.value)
        elif suffix == "_sum":
            group.sum = float(s.value)
        elif suffix == "_bucket" and is_histogram:
            bound = float(s.labels["le"])
            if not math.isinf(bound):
                bucket = _uint_field(1, int(s.value)) + _double_field(2, bound)
                group.parts.append(_len_field(3, bucket))
        elif suffix == "" and not is_histogram:
            quantile = _double_field(1, float(s.labels["quantile"])) + _double_field(2, s.value)
            group.parts.append(_len_field(3, quantile))
    field, kind = (7, _HISTOGRAM) if is_histogram else (4, _SUMMARY)
    rows = [
        _metric_field(
            g.labels
            + _len_field(
                field, _uint_field(1, g.count) + _double_field(2, g.sum) + b"".join(g.parts)
            )
        )
        for g in groups.values()
    ]
    return _family(metric.name, metric.documentation, kind, rows)
