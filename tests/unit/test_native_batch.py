"""The vectorized native-histogram encoder: varints as protobuf reads them, and spans and
deltas decoded against the io.prometheus.client schema equal to the reference layout."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf.internal.decoder import _DecodeVarint
from hypothesis import given
from hypothesis import strategies as st

from collector.exposition import NativeHistogram, NativeHistogramFamily
from collector.native_batch import packed_varints
from collector.protobuf_exposition import encode_families, native_spans
from tests.unit.protobuf_schema import decode_delimited

EDGES = [0, 1, 127, 128, 255, 4095, 4096, 16383, 16384, 2**21 - 1, 2**21, 2**63, 2**64 - 1]


@pytest.mark.parametrize("values", [EDGES, [0, 5, 127], [2**64 - 1], []])
def test_packed_varints_decode_one_by_one_at_the_offsets_given(values: list[int]) -> None:
    packed, offsets = packed_varints(np.array(values, dtype=np.uint64))
    position, decoded = 0, list[int]()
    while position < len(packed):
        assert position == offsets[len(decoded)]
        value, position = _DecodeVarint(packed, position)
        decoded.append(value)
    assert decoded == values
    assert offsets[-1] == len(packed)


def _decoded(histograms: list[dict[int, int]]) -> list[tuple[list[tuple[int, int]], list[int]]]:
    rows = [
        ((str(i),), NativeHistogram(sum(b.values()), 1.0, 0, b)) for i, b in enumerate(histograms)
    ]
    (family,) = decode_delimited(
        encode_families([NativeHistogramFamily("n_seconds", "N.", ("i",), 6, rows)])
    )
    return [
        (
            [(s.offset, s.length) for s in m.histogram.positive_span],
            list(m.histogram.positive_delta),
        )
        for m in family.metric
    ]


@given(
    st.lists(
        st.dictionaries(
            st.integers(min_value=-70_000, max_value=70_000),
            st.integers(min_value=1, max_value=2**60),
            min_size=1,
            max_size=60,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_many_histograms_encoded_together_decode_to_each_ones_reference_layout(
    histograms: list[dict[int, int]],
) -> None:
    assert _decoded(histograms) == [native_spans(b) for b in histograms]


def test_dense_sparse_and_single_bucket_histograms_side_by_side() -> None:
    dense = {k: 1000 + k % 7 for k in range(-300, -100)}
    sparse = {-5: 1, 12: 2, 13: 1, 31: 5, 100: 4000, 101: 1}
    single = {0: 3}
    decoded = _decoded([dense, sparse, single])
    # 16 empty buckets between -5 and 12 stay inside the span, 17 before 31 do not
    assert decoded[1] == ([(-5, 19), (17, 1), (68, 2)], [1, -1, *[0] * 15, 2, -1, 4, 3995, -3999])
    assert decoded == [native_spans(dense), native_spans(sparse), native_spans(single)]
    assert decoded[2] == ([(0, 1)], [3])
