"""Native histograms patched where their buckets changed encode to exactly the bytes of a
fresh encoding, after any sequence of folds and scrapes (text scrapes encode nothing)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from collector import native_incremental
from collector.exposition import NativeHistogramFamily
from collector.native_buckets import MAX_CHANGES
from collector.protobuf_exposition import encode_families
from collector.recorder import NativeHistogram, RequestRecorder, RouteSeries
from tests.unit.protobuf_schema import decode_delimited


def _fold(series: RouteSeries, bins: dict[int, int]) -> None:
    """What `RequestRecorder.fold` does to a series' native side: the bins, and a count
    that moves with them (it is what makes a new snapshot)."""
    series.native_buckets.add(bins)
    series.counts[0] += sum(bins.values())


def _encoded(hist: NativeHistogram) -> bytes:
    return encode_families([NativeHistogramFamily("n_seconds", "N.", ("s",), 6, [(("a",), hist)])])


def _fresh(hist: NativeHistogram) -> bytes:
    """The reference: the same counts as a plain dict, nothing to patch from."""
    plain = NativeHistogram(hist.count, hist.sum_s, hist.zero_count, dict(hist.buckets))
    return _encoded(plain)


small_counts = st.integers(min_value=1, max_value=40)
any_counts = st.one_of(small_counts, st.integers(min_value=1, max_value=2**40))
folds = st.one_of(
    st.dictionaries(st.integers(min_value=-40, max_value=40), small_counts, max_size=4),
    st.dictionaries(st.integers(min_value=-300, max_value=300), any_counts, max_size=6),
)
scrapes = st.sampled_from(["protobuf", "protobuf", "text", "none"])


@settings(max_examples=400)
@given(st.lists(st.tuples(folds, scrapes), max_size=40))
def test_every_scrape_after_any_folds_matches_a_fresh_encoding(
    sequence: list[tuple[dict[int, int], str]],
) -> None:
    series = RequestRecorder("svc", (0.1, 1.0)).series("/r", "GET")
    for bins, scrape in sequence:
        _fold(series, bins)
        if scrape != "none" and series.count:
            hist = series.native_histogram()
            if scrape == "protobuf":
                assert _encoded(hist) == _fresh(hist)


def test_patched_deltas_decode_to_the_counts_and_keep_the_state() -> None:
    series = RequestRecorder("svc", (0.1, 1.0)).series("/r", "GET")
    _fold(series, {0: 5, 3: 2, 40: 1})
    first = series.native_histogram()
    _encoded(first)
    _fold(series, {3: 1, 2: 4})  # inside the first span: patched in place
    second = series.native_histogram()
    assert second.base is first.protobuf_cache
    body = _encoded(second)
    assert body == _fresh(second)
    cache = second.protobuf_cache
    assert isinstance(cache, native_incremental.Encoded)
    assert cache.state is not None and cache.state is first.protobuf_cache.state  # type: ignore[attr-defined]
    (family,) = decode_delimited(body)
    histogram = family.metric[0].histogram
    assert [(s.offset, s.length) for s in histogram.positive_span] == [(0, 4), (36, 1)]
    assert list(histogram.positive_delta) == [5, -5, 4, -1, -2]


def test_a_stale_snapshot_is_encoded_afresh_not_patched_from_a_newer_state() -> None:
    series = RequestRecorder("svc", (0.1, 1.0)).series("/r", "GET")
    _fold(series, {0: 5, 1: 1})
    _encoded(series.native_histogram())
    _fold(series, {1: 1})
    older = series.native_histogram()
    _fold(series, {0: 1})
    newer = series.native_histogram()  # relative to the same encoded base as `older`
    assert _encoded(newer) == _fresh(newer)
    assert _encoded(older) == _fresh(older)


def test_changes_past_the_limit_make_the_next_snapshot_start_afresh() -> None:
    series = RequestRecorder("svc", (0.1, 1.0)).series("/r", "GET")
    _fold(series, {0: 1})
    _encoded(series.native_histogram())
    for index in range(MAX_CHANGES + 1):
        _fold(series, {index % 50: 1})
    hist = series.native_histogram()
    assert hist.base is None and not hist.changed
    assert _encoded(hist) == _fresh(hist)
