"""Dense native-histogram buckets: the fold's in-place adds read back as the dict they
replace, and they encode to the same bytes as that dict."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from collector.exposition import NativeHistogramFamily
from collector.native_buckets import DenseBuckets
from collector.protobuf_exposition import encode_families
from collector.recorder import NativeHistogram

folds = st.lists(
    st.dictionaries(
        st.integers(min_value=-3000, max_value=3000),
        st.integers(min_value=1, max_value=2**40),
        max_size=30,
    ),
    max_size=12,
)


@given(folds)
def test_adds_in_any_order_read_back_as_the_summed_dict(
    bins_per_fold: list[dict[int, int]],
) -> None:
    dense, expected = DenseBuckets(), Counter[int]()
    for bins in bins_per_fold:
        dense.add(bins)
        expected.update(bins)
    assert dict(dense) == dict(expected)
    assert list(dense) == sorted(expected), "iterated in bucket order"
    assert len(dense) == len(expected)
    assert bool(dense) == bool(expected)


def test_growing_below_and_above_the_range_keeps_earlier_counts() -> None:
    dense = DenseBuckets()
    dense.add({10: 2})
    dense.add({-500: 1})
    dense.add({900: 4, 10: 1})
    assert dict(dense) == {-500: 1, 10: 3, 900: 4}
    assert dense.low <= -500 and dense.low + len(dense.counts) > 900


def test_a_copy_does_not_see_later_adds() -> None:
    dense = DenseBuckets()
    dense.add({3: 1})
    copy = dense.copy()
    dense.add({3: 5, 4: 1})
    assert dict(copy) == {3: 1}
    assert dict(dense) == {3: 6, 4: 1}


def _family(rows: list[NativeHistogram]) -> NativeHistogramFamily:
    return NativeHistogramFamily(
        "n_seconds", "N.", ("i",), 6, [((str(i),), hist) for i, hist in enumerate(rows)]
    )


@given(folds.filter(lambda f: any(f)), st.integers(min_value=0, max_value=3))
def test_dense_buckets_encode_to_the_same_bytes_as_the_dict(
    bins_per_fold: list[dict[int, int]], zeros: int
) -> None:
    dense, expected = DenseBuckets(), Counter[int]()
    for bins in bins_per_fold:
        dense.add(bins)
        expected.update(bins)
    total = sum(expected.values()) + zeros
    as_dense = NativeHistogram(total, 1.5, zeros, dense)
    as_dict = NativeHistogram(total, 1.5, zeros, dict(expected))
    single = {0: 1}
    other = NativeHistogram(1, 1.0, 0, single)
    assert encode_families([_family([as_dense, other])]) == encode_families(
        [_family([as_dict, NativeHistogram(1, 1.0, 0, dict(single))])]
    )
