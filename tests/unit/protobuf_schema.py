"""The documented `io.prometheus.client` schema (client_model's metrics.proto), built with the
`protobuf` package, so that tests decode our hand-written encoding against the real schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.decoder import _DecodeVarint

F = descriptor_pb2.FieldDescriptorProto

# (message, [(field name, number, type, label, message type name)])
_MESSAGES: list[tuple[str, list[tuple[str, int, int, int, str]]]] = [
    (
        "LabelPair",
        [
            ("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, ""),
            ("value", 2, F.TYPE_STRING, F.LABEL_OPTIONAL, ""),
        ],
    ),
    ("Gauge", [("value", 1, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, "")]),
    ("Counter", [("value", 1, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, "")]),
    ("Untyped", [("value", 1, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, "")]),
    (
        "Quantile",
        [
            ("quantile", 1, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("value", 2, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
        ],
    ),
    (
        "Summary",
        [
            ("sample_count", 1, F.TYPE_UINT64, F.LABEL_OPTIONAL, ""),
            ("sample_sum", 2, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("quantile", 3, F.TYPE_MESSAGE, F.LABEL_REPEATED, "Quantile"),
        ],
    ),
    (
        "Bucket",
        [
            ("cumulative_count", 1, F.TYPE_UINT64, F.LABEL_OPTIONAL, ""),
            ("cumulative_count_float", 4, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("upper_bound", 2, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
        ],
    ),
    (
        "BucketSpan",
        [
            ("offset", 1, F.TYPE_SINT32, F.LABEL_OPTIONAL, ""),
            ("length", 2, F.TYPE_UINT32, F.LABEL_OPTIONAL, ""),
        ],
    ),
    (
        "Histogram",
        [
            ("sample_count", 1, F.TYPE_UINT64, F.LABEL_OPTIONAL, ""),
            ("sample_count_float", 4, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("sample_sum", 2, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("bucket", 3, F.TYPE_MESSAGE, F.LABEL_REPEATED, "Bucket"),
            ("schema", 5, F.TYPE_SINT32, F.LABEL_OPTIONAL, ""),
            ("zero_threshold", 6, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("zero_count", 7, F.TYPE_UINT64, F.LABEL_OPTIONAL, ""),
            ("zero_count_float", 8, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, ""),
            ("negative_span", 9, F.TYPE_MESSAGE, F.LABEL_REPEATED, "BucketSpan"),
            ("negative_delta", 10, F.TYPE_SINT64, F.LABEL_REPEATED, ""),
            ("negative_count", 11, F.TYPE_DOUBLE, F.LABEL_REPEATED, ""),
            ("positive_span", 12, F.TYPE_MESSAGE, F.LABEL_REPEATED, "BucketSpan"),
            ("positive_delta", 13, F.TYPE_SINT64, F.LABEL_REPEATED, ""),
            ("positive_count", 14, F.TYPE_DOUBLE, F.LABEL_REPEATED, ""),
        ],
    ),
    (
        "Metric",
        [
            ("label", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, "LabelPair"),
            ("gauge", 2, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Gauge"),
            ("counter", 3, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Counter"),
            ("summary", 4, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Summary"),
            ("untyped", 5, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Untyped"),
            ("histogram", 7, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "Histogram"),
            ("timestamp_ms", 6, F.TYPE_INT64, F.LABEL_OPTIONAL, ""),
        ],
    ),
    (
        "MetricFamily",
        [
            ("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, ""),
            ("help", 2, F.TYPE_STRING, F.LABEL_OPTIONAL, ""),
            ("type", 3, F.TYPE_ENUM, F.LABEL_OPTIONAL, "MetricType"),
            ("metric", 4, F.TYPE_MESSAGE, F.LABEL_REPEATED, "Metric"),
        ],
    ),
]
_TYPES = ("COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM")


def _build() -> Any:
    proto = descriptor_pb2.FileDescriptorProto(
        name="loadwatch_test_metrics.proto", package="io.prometheus.client", syntax="proto2"
    )
    enum = proto.enum_type.add(name="MetricType")
    for number, name in enumerate(_TYPES):
        enum.value.add(name=name, number=number)
    for message, fields in _MESSAGES:
        msg = proto.message_type.add(name=message)
        for name, number, kind, label, type_name in fields:
            field = msg.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = f".io.prometheus.client.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("io.prometheus.client.MetricFamily")
    )


MetricFamily = _build()


def decode_delimited(data: bytes) -> Iterator[Any]:
    """Every MetricFamily of a delimited stream; raises on a malformed message."""
    position = 0
    while position < len(data):
        size, position = _DecodeVarint(data, position)
        family = MetricFamily()
        family.ParseFromString(data[position : position + size])
        position += size
        yield family
    assert position == len(data), "trailing bytes after the last message"
