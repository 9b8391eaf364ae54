"""The vectorized classic-bucket encoder: byte for byte what the per-series encoder writes,
and a scrape with many changed series decodes against the io.prometheus.client schema."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from collector.classic_batch import bucket_fields
from collector.exposition import HistogramFamily
from collector.protobuf_exposition import _bound_fields, _classic_buckets, encode_families
from collector.recorder import HistogramSeries
from tests.unit.protobuf_schema import decode_delimited

BOUNDS = (0.005, 0.01, 0.2, 1.0)


def _series(counts: list[list[int]]) -> list[HistogramSeries]:
    out = []
    for i, row in enumerate(counts):
        series = HistogramSeries((f"s{i}",), len(BOUNDS))
        series.counts[:] = row
        series.sum_s = 0.25 * i
        out.append(series)
    return out


def _family(series: list[HistogramSeries]) -> HistogramFamily:
    return HistogramFamily("d_seconds", "D.", ("service",), BOUNDS, series)


count_rows = st.lists(
    st.lists(
        st.integers(min_value=0, max_value=2**40),
        min_size=len(BOUNDS) + 1,
        max_size=len(BOUNDS) + 1,
    ).filter(any),
    min_size=1,
    max_size=40,
)


@given(count_rows)
def test_many_series_encoded_together_are_the_bytes_of_each_one_alone(
    counts: list[list[int]],
) -> None:
    series = _series(counts)
    together = encode_families([_family(series)])
    alone = []
    for one_series in series:
        one_series.protobuf_cache = None  # encoded afresh, alone: the per-series path
        alone.append(encode_families([_family([one_series])]))
    (family,) = decode_delimited(together)
    assert len(family.metric) == len(counts)
    for metric, row, single in zip(family.metric, counts, alone, strict=True):
        cumulative = list(itertools.accumulate(row))
        h = metric.histogram
        assert [b.cumulative_count for b in h.bucket] == cumulative[:-1]
        assert [b.upper_bound for b in h.bucket] == list(BOUNDS)
        assert h.sample_count == cumulative[-1]
        (one,) = decode_delimited(single)
        assert one.metric[0] == metric
    cached = [s.protobuf_cache for s in series]  # (key, Metric field) of the per-series path
    assert together.endswith(b"".join(c[1] for c in cached if isinstance(c, tuple)))


def test_bucket_fields_match_the_per_series_layout_at_varint_length_edges() -> None:
    rows = [[0, 127, 128, 16383], [16384, 2**21 - 1, 2**21, 2**40]]
    fields = bucket_fields(np.array(rows, dtype=np.int64), _bound_fields(BOUNDS))
    assert fields == [_classic_buckets(row, _bound_fields(BOUNDS)) for row in rows]
