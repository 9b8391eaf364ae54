"""The bucket spans and deltas of many native histograms at once, vectorized (pure).

A native histogram's buckets travel as spans of consecutive bucket indices and one zigzag
varint delta per covered bucket: hundreds of numbers a series at schema 6, against the
twenty or so of a classic histogram. Encoding them one Python call per number costs about
50 us a series; here every histogram that changed since the last scrape is encoded in one
pass of numpy array operations over their dense bucket arrays laid end to end
(`DenseBuckets`, kept by the fold: in bucket order already, so no sort and no per-bucket
Python): non-zero positions, gaps, the covered buckets, deltas, zigzag, varint bytes, then
cut back into one `bytes` per histogram. The output is exactly the spans and deltas of
`protobuf_exposition.native_spans`, as fields 12 and 13 of the `Histogram` message (the
tests decode it against the schema and compare).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from collector.native_buckets import DenseBuckets

__all__ = ["dense_block", "packed_varints", "spans_and_deltas"]

Int64s = npt.NDArray[np.int64]


def packed_varints(values: npt.NDArray[np.uint64]) -> tuple[bytes, Int64s]:
    """Non-negative ints as concatenated protobuf varints, and each one's byte offset
    (one more offset at the end: the total length). Works byte-wide (uint8 lengths, one
    n x width byte matrix) so that few large temporaries are allocated: on a 2-core VM
    each fresh megabyte costs about 0.4 ms in page faults, more than the arithmetic."""
    n = len(values)
    width = max(1, (int(values.max()).bit_length() + 6) // 7) if n else 1
    if width == 1:
        return values.astype(np.uint8).tobytes(), np.arange(n + 1, dtype=np.int64)
    lengths = np.ones(n, dtype=np.uint8)
    for shift in range(7, 7 * width, 7):
        np.add(lengths, values >= np.uint64(1 << shift), out=lengths)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, dtype=np.int64, out=offsets[1:])
    groups = np.empty((n, width), dtype=np.uint8)
    remaining = values.copy()
    for index in range(width):
        np.bitwise_and(remaining, np.uint64(0x7F), out=remaining)
        groups[:, index] = remaining
        if index + 1 < width:
            np.right_shift(values, np.uint64(7 * (index + 1)), out=remaining)
    steps = np.arange(width, dtype=np.uint8)
    groups[:, :-1] |= (steps[1:] < lengths[:, None]).view(np.uint8) << np.uint8(7)
    return groups[steps < lengths[:, None]].tobytes(), offsets


def _zigzag(values: Int64s) -> npt.NDArray[np.uint64]:
    """Zigzag encoding, in place (`values` is overwritten): 2v, or -2v - 1 below zero."""
    negative = values < 0
    np.left_shift(values, 1, out=values)
    np.invert(values, out=values, where=negative)
    return values.view(np.uint64)


def dense_block(buckets: Mapping[int, int]) -> tuple[int, Int64s]:
    """(index of the first element, counts) of `buckets` as one dense int64 array: a view of
    a `DenseBuckets`' array (no copy), or built from any other mapping (O(range))."""
    if isinstance(buckets, DenseBuckets):
        return buckets.low, np.frombuffer(buckets.counts, dtype=np.int64)
    keys = np.fromiter(buckets.keys(), dtype=np.int64, count=len(buckets))
    low = int(keys.min())
    counts = np.zeros(int(keys.max()) - low + 1, dtype=np.int64)
    counts[keys - low] = np.fromiter(buckets.values(), dtype=np.int64, count=len(buckets))
    return low, counts


def spans_and_deltas(
    histograms: Sequence[Mapping[int, int]],
    max_gap: int,
    delta_field: Callable[[bytes], bytes],
) -> list[bytes]:
    """Each histogram's `positive_span` fields (12) then its `positive_delta` field (13).

    Histograms must have at least one non-zero count, counts below 2**62 (a zero count is an
    empty bucket) and indices within +-2**31. A span runs across up to `max_gap` empty
    buckets; `delta_field(packed)` wraps the packed deltas. Costs O(range) numpy work over
    the concatenated dense arrays (`dense_block`; a few ns a bucket, no sort: they are in
    order already) and a slice or two a histogram.
    """
    blocks = [dense_block(h) for h in histograms]
    lows = np.fromiter((low for low, _ in blocks), dtype=np.int64, count=len(blocks))
    begins = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum([len(counts) for _, counts in blocks], out=begins[1:])
    dense = np.concatenate([counts for _, counts in blocks])
    filled = np.flatnonzero(dense)  # positions in `dense` of the non-empty buckets, in order
    owners = np.searchsorted(begins[1:], filled, side="right")
    series_start = np.empty(len(filled), dtype=bool)
    series_start[0] = True
    np.not_equal(owners[1:], owners[:-1], out=series_start[1:])

    steps = np.empty(len(filled), dtype=np.int64)  # distance to the previous non-empty bucket
    steps[0] = 1
    np.subtract(filled[1:], filled[:-1], out=steps[1:])
    starts = np.flatnonzero(series_start | (steps > max_gap + 1))
    firsts = filled[starts]  # each span's first and last position in `dense`
    lasts = filled[np.append(starts[1:], len(filled)) - 1]
    span_lengths = lasts - firsts + 1
    covered_begins = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(span_lengths, out=covered_begins[1:])
    # The covered buckets, spans laid end to end: +1 where a span opens, -1 after it ends.
    edges = np.zeros(len(dense) + 1, dtype=np.int8)
    edges[firsts] += 1
    edges[lasts + 1] -= 1
    counts = dense[np.cumsum(edges[:-1], dtype=np.int8).view(bool)]
    first_span = series_start[starts]
    series_first_covered = covered_begins[:-1][first_span]
    restarts = counts[series_first_covered]
    deltas = np.empty(len(counts), dtype=np.int64)
    deltas[0] = counts[0]
    np.subtract(counts[1:], counts[:-1], out=deltas[1:])  # across spans too, as the schema says
    deltas[series_first_covered] = restarts
    packed, byte_offsets = packed_varints(_zigzag(deltas))

    span_offsets = np.empty(len(starts), dtype=np.int64)
    span_offsets[1:] = firsts[1:] - lasts[:-1] - 1
    span_owners = owners[starts]
    span_offsets[first_span] = (firsts - begins[span_owners] + lows[span_owners])[first_span]
    spans, span_bytes = _span_fields(span_offsets, span_lengths)
    spans_per_series = np.bincount(span_owners, minlength=len(blocks))
    span_cuts = span_bytes[np.concatenate(([0], np.cumsum(spans_per_series)))].tolist()
    delta_cuts = [*byte_offsets[series_first_covered].tolist(), len(packed)]
    return [
        spans[span_cuts[i] : span_cuts[i + 1]]
        + delta_field(packed[delta_cuts[i] : delta_cuts[i + 1]])
        for i in range(len(blocks))
    ]


_SPAN_TAG, _OFFSET_TAG, _LENGTH_TAG = 12 << 3 | 2, 1 << 3, 2 << 3
"""`Histogram.positive_span` (field 12, length-delimited); BucketSpan's `offset` (sint32)
and `length` (uint32), both varints."""


def _span_fields(offsets: Int64s, lengths: Int64s) -> tuple[bytes, Int64s]:
    """The `positive_span` fields of all spans, concatenated, and where each one starts
    (one more: the total length). Each is tag, length (one byte: at most 2 + 10 + 10),
    offset tag, zigzag offset, length tag, length."""
    interleaved = np.empty(2 * len(offsets), dtype=np.uint64)
    interleaved[0::2] = _zigzag(offsets)
    interleaved[1::2] = lengths.view(np.uint64)
    values, value_offsets = packed_varints(interleaved)
    offset_at, length_at = value_offsets[0:-1:2], value_offsets[1::2]
    payload = value_offsets[2::2] - offset_at + 2
    heads = np.column_stack(
        (
            np.full(len(offsets), _SPAN_TAG),
            payload,
            np.full(len(offsets), _OFFSET_TAG),
            np.full(len(offsets), _LENGTH_TAG),
        )
    ).ravel()
    at = np.column_stack((offset_at, offset_at, offset_at, length_at)).ravel()
    fields = np.insert(np.frombuffer(values, dtype=np.uint8), at, heads.astype(np.uint8))
    starts = np.zeros(len(offsets) + 1, dtype=np.int64)
    np.cumsum(payload + 2, out=starts[1:])
    return fields.tobytes(), starts
