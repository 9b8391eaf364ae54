"""Prometheus' protobuf exposition (delimited `io.prometheus.client.MetricFamily`), pure.

This is the only format that carries native histograms, so `/metrics` answers it when the
scraper asks (`wants_protobuf`): Prometheus does, first, once its `native-histograms` feature
is on. Every family of the scrape goes into it: loadwatch's own (`Family`, including
`NativeHistogramFamily`) and whatever else the `prometheus_client` registry holds.

The messages are encoded directly from the documented schema (client_model's
`metrics.proto`: MetricFamily, Metric, LabelPair, Counter, Gauge, Untyped, Summary,
Histogram with classic Bucket and native BucketSpan fields); the tests decode the output with
the `protobuf` package against that schema. Cost: about the text renderer's per series, as
label pairs and bucket bounds are encoded once per series and cached.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from collector.exposition import (
    CounterFamily,
    Family,
    GaugeFamily,
    HistogramFamily,
    NativeHistogram,
    NativeHistogramFamily,
)
from collector.recorder import HistogramSeries

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


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _len_field(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _str_field(field: int, text: str) -> bytes:
    return _len_field(field, text.encode("utf-8", "surrogatepass"))


def _uint_field(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _double_field(field: int, value: float) -> bytes:
    return _varint(field << 3 | 1) + _pack_double(value)


def _packed_sint(field: int, values: Iterable[int]) -> bytes:
    return _len_field(field, b"".join(_varint(_zigzag(v)) for v in values))


def _labels(names: Sequence[str], values: Sequence[str]) -> bytes:
    """Encoded `Metric.label` fields (field 1), one LabelPair per name."""
    return b"".join(
        _len_field(1, _str_field(1, n) + _str_field(2, v))
        for n, v in zip(names, values, strict=True)
    )


def _family(name: str, help_text: str, kind: int, metrics: list[bytes]) -> bytes:
    body = _str_field(1, name) + _str_field(2, help_text) + _uint_field(3, kind)
    body += b"".join(_len_field(4, m) for m in metrics)
    return _varint(len(body)) + body


def _scalar(field: int, labels: bytes, value: float) -> bytes:
    """A Metric with `labels` and a Counter/Gauge/Untyped (field 3/2/5) holding `value`."""
    return labels + _len_field(field, _double_field(1, float(value)))


def _classic_buckets(family: HistogramFamily, series: HistogramSeries) -> list[bytes]:
    """Per-bucket encoded upper bounds and the label pairs, cached on the series."""
    cache = series.render_cache
    key = ("protobuf", family.name)
    if isinstance(cache, tuple) and len(cache) == 3 and cache[:2] == key:
        cached: list[bytes] = cache[2]
        return cached
    parts = [_double_field(2, bound) for bound in family.bounds_s]
    parts.append(_labels(family.label_names, series.label_values))
    series.render_cache = (*key, parts)
    return parts


def _classic_histogram(family: HistogramFamily, series: HistogramSeries) -> bytes:
    parts = _classic_buckets(family, series)
    total = 0
    body = [_uint_field(1, series.count), _double_field(2, series.sum_s)]
    for bound, count in zip(parts[:-1], series.counts, strict=False):
        total += count
        body.append(_len_field(3, _uint_field(1, total) + bound))
    return parts[-1] + _len_field(7, b"".join(body))


def native_spans(buckets: Mapping[int, int]) -> tuple[list[tuple[int, int]], list[int]]:
    """(spans as (offset, length), deltas) for the non-empty buckets, as the schema wants.

    The first span's offset is the first index; later offsets are the gaps between spans.
    Deltas are each count minus the previous one (the first minus zero).
    """
    spans: list[tuple[int, int]] = []
    deltas: list[int] = []
    previous_index: int | None = None
    previous_count = 0
    for index in sorted(k for k, v in buckets.items() if v):
        count = buckets[index]
        if previous_index is not None and index == previous_index + 1:
            offset, length = spans[-1]
            spans[-1] = (offset, length + 1)
        else:
            gap = index if previous_index is None else index - previous_index - 1
            spans.append((gap, 1))
        deltas.append(count - previous_count)
        previous_index, previous_count = index, count
    return spans, deltas


def _native_histogram(schema: int, labels: bytes, hist: NativeHistogram) -> bytes:
    spans, deltas = native_spans(hist.buckets)
    body = _uint_field(1, hist.count) + _double_field(2, hist.sum_s)
    body += _uint_field(5, _zigzag(schema))
    body += _double_field(6, 0.0) + _uint_field(7, hist.zero_count)
    if not spans:
        spans = [(0, 0)]  # the no-op span: "this is a native histogram, still empty"
    for offset, length in spans:
        body += _len_field(12, _uint_field(1, _zigzag(offset)) + _uint_field(2, length))
    if deltas:
        body += _packed_sint(13, deltas)
    return labels + _len_field(7, body)


def encode_families(families: Iterable[Family]) -> bytes:
    """loadwatch's families as delimited MetricFamily messages (empty families left out)."""
    out: list[bytes] = []
    for family in families:
        if isinstance(family, HistogramFamily):
            metrics = [_classic_histogram(family, s) for s in family.series if s.count]
            kind = _HISTOGRAM
        elif isinstance(family, NativeHistogramFamily):
            metrics = [
                _native_histogram(family.schema, _labels(family.label_names, values), hist)
                for values, hist in family.rows
                if hist.count
            ]
            kind = _HISTOGRAM
        else:
            assert isinstance(family, CounterFamily | GaugeFamily)
            field, kind = (3, _COUNTER) if isinstance(family, CounterFamily) else (2, _GAUGE)
            metrics = [
                _scalar(field, _labels(family.label_names, values), value)
                for values, value in family.rows
            ]
        if metrics:
            name = f"{family.name}_total" if isinstance(family, CounterFamily) else family.name
            out.append(_family(name, family.help, kind, metrics))
    return b"".join(out)


def _sample_labels(labels: Mapping[str, str], drop: str = "") -> bytes:
    return _labels([n for n in labels if n != drop], [v for n, v in labels.items() if n != drop])


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
        g.labels
        + _len_field(field, _uint_field(1, g.count) + _double_field(2, g.sum) + b"".join(g.parts))
        for g in groups.values()
    ]
    return _family(metric.name, metric.documentation, kind, rows)
