"""The bucket spans and deltas of many native histograms at once, vectorized (pure).

A native histogram's buckets travel as spans of consecutive bucket indices and one zigzag
varint delta per covered bucket: hundreds of numbers a series at schema 6, against the
twenty or so of a classic histogram. Encoding them one Python call per number costs about
50 us a series; here every histogram to encode afresh (`native_incremental` patches the
others) is encoded in one pass of numpy array operations over their dense bucket arrays
laid end to end (`DenseBuckets`, kept by the fold: in bucket order already, so no sort and
no per-bucket Python): non-zero positions, gaps, the covered buckets, deltas, zigzag,
varint bytes, then cut back into one `bytes` per histogram, with the `Layout` a later
patch starts from. The output is exactly the spans and deltas of
`protobuf_exposition.native_spans`, as fields 12 and 13 of the `Histogram` message (the
tests decode it against the schema and compare).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from collector.native_buckets import DenseBuckets
from collector.varint import varint

__all__ = [
    "Layout",
    "dense_block",
    "packed_varints",
    "spans_deltas_and_layouts",
]

Int64s = npt.NDArray[np.int64]


class _Workspace(threading.local):
    """Work arrays kept between calls, one set per thread, each grown to the largest call
    so far (20-40 bytes a bucket of the largest scrape's range: about 4 MB for 200 series
    of 700 buckets). A fresh large numpy array is mapped anew by the allocator on every call,
    and on the shared 2-core VM its page faults cost more than the arithmetic."""

    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[Any]] = {}

    def take(self, name: str, size: int, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
        """`size` elements of the work array `name` of `dtype` (contents undefined)."""
        key = f"{name}:{np.dtype(dtype).str}"
        array = self.arrays.get(key)
        if array is None or len(array) < size:
            array = self.arrays[key] = np.empty(size + size // 4 + 64, dtype=dtype)
        return array[:size]

    def index(self, size: int, dtype: npt.DTypeLike = np.int64) -> npt.NDArray[Any]:
        """0, 1, ..., size - 1 (read-only by convention)."""
        key = f"index:{np.dtype(dtype).str}"
        array = self.arrays.get(key)
        if array is None or len(array) < size:
            array = self.arrays[key] = np.arange(size + size // 4 + 64, dtype=dtype)
        return array[:size]


_WORK = _Workspace()


def packed_varints(values: npt.NDArray[np.unsignedinteger[Any]]) -> tuple[bytes, Int64s]:
    """Non-negative ints (uint32 or uint64) as concatenated protobuf varints, and each one's
    byte offset (one more offset at the end: the total length). The offsets are valid until
    this thread's next call (they live in its workspace)."""
    n, work = len(values), _WORK
    width = max(1, (int(values.max()).bit_length() + 6) // 7) if n else 1
    if width == 1:
        single = work.take("single", n, np.uint8)
        single[:] = values
        return single.tobytes(), work.index(n + 1)
    lengths = np.ones(n, dtype=np.uint8)
    above = work.take("above", n, np.bool_)
    for shift in range(7, 7 * width, 7):
        np.greater_equal(values, 1 << shift, out=above)
        np.add(lengths, above, out=lengths)
    offsets = work.take("offsets", n + 1, np.int64)
    offsets[0] = 0
    np.cumsum(lengths, dtype=np.int64, out=offsets[1:])
    groups = work.take("groups", n * width, np.uint8).reshape(n, width)
    remaining = work.take("remaining", n, values.dtype)
    for index in range(width):
        np.right_shift(values, 7 * index, out=remaining)
        np.bitwise_and(remaining, 0x7F, out=remaining)
        groups[:, index] = remaining
    steps = np.arange(width, dtype=np.uint8)
    continued = work.take("continued", n * (width - 1), np.bool_).reshape(n, width - 1)
    np.less(steps[1:], lengths[:, None], out=continued)
    groups[:, :-1] |= continued.view(np.uint8) << np.uint8(7)
    used = work.take("used", n * width, np.bool_).reshape(n, width)
    np.less(steps, lengths[:, None], out=used)
    out = work.take("packed", int(offsets[-1]), np.uint8)
    np.compress(used.ravel(), groups.ravel(), out=out)
    return out.tobytes(), offsets


def _zigzag(values: npt.NDArray[np.signedinteger[Any]]) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Zigzag encoding of int32 or int64, in place (`values` is overwritten): 2v, or -2v - 1
    below zero, as the unsigned type of the same width."""
    bits = 8 * values.dtype.itemsize
    sign = np.right_shift(values, bits - 1, out=_WORK.take("sign", len(values), values.dtype))
    np.left_shift(values, 1, out=values)
    np.bitwise_xor(values, sign, out=values)
    return values.view(f"u{values.dtype.itemsize}")


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


@dataclass(slots=True)
class Layout:
    """Where one histogram's encoding came from, for patching it later
    (`native_incremental`): its spans and where each delta's varint sits."""

    span_firsts: list[int]
    """Bucket index of each span's first bucket."""
    span_lasts: list[int]
    """Bucket index of each span's last bucket."""
    covered_before: list[int]
    """Covered buckets (deltas) before each span."""
    spans: bytes
    """The `positive_span` fields."""
    packed: bytes
    """The deltas' zigzag varints, concatenated."""
    delta_offsets: bytes
    """Each delta's byte offset in `packed` and the total length, as int64 bytes; empty
    when every varint is one byte (offset = delta position)."""


def spans_deltas_and_layouts(
    histograms: Sequence[Mapping[int, int]],
    max_gap: int,
    largest_count: int = 2**62,
) -> tuple[list[bytes], list[Layout]]:
    """Each histogram's `positive_span` fields (12) then its `positive_delta` field (13),
    and each one's `Layout`.

    Histograms must have at least one non-zero count, counts below 2**62 (a zero count is an
    empty bucket) and indices within +-2**31. A span runs across up to `max_gap` empty
    buckets. Costs O(range) numpy work over
    the concatenated dense arrays (`dense_block`; a few ns a bucket, no sort: they are in
    order already) and a slice or two a histogram. Below 2**31, `largest_count` (a bound on
    every count, such as the largest histogram's count) lets the work run on int32, which
    halves the memory it streams through (the bulk of its cost).
    """
    work = _WORK
    blocks = [dense_block(h) for h in histograms]
    lows = np.fromiter((low for low, _ in blocks), dtype=np.int64, count=len(blocks))
    begins = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum([len(counts) for _, counts in blocks], out=begins[1:])
    size = int(begins[-1])
    count_type = np.int32 if largest_count < 2**31 else np.int64
    index_type = np.int32 if size < 2**31 else np.int64
    dense = work.take("dense", size, count_type)
    np.concatenate([counts for _, counts in blocks], out=dense, casting="unsafe")
    nonempty = np.not_equal(dense, 0, out=work.take("nonempty", size, np.bool_))
    filled = np.flatnonzero(nonempty)  # positions of the non-empty buckets, in order
    series_firsts = np.searchsorted(filled, begins[:-1])  # each block's first, in `filled`

    steps = work.take("steps", len(filled), index_type)  # distance to the previous one
    steps[0] = 0
    np.subtract(filled[1:], filled[:-1], out=steps[1:])
    span_start = np.greater(steps, max_gap + 1, out=work.take("span_start", len(filled), np.bool_))
    span_start[series_firsts] = True
    starts = np.flatnonzero(span_start)
    firsts = filled[starts]  # each span's first and last position in `dense`
    lasts = filled[np.append(starts[1:], len(filled)) - 1]
    span_lengths = lasts - firsts + 1
    covered_begins = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(span_lengths, dtype=np.int64, out=covered_begins[1:])
    # Where each covered bucket sits in `dense`, the spans laid end to end: a running sum
    # of steps of 1, jumping over the empty runs between spans.
    covered = int(covered_begins[-1])
    positions = work.take("positions", covered, index_type)
    positions.fill(1)
    positions[0] = firsts[0]
    positions[covered_begins[1:-1]] = firsts[1:] - lasts[:-1]
    np.cumsum(positions, dtype=index_type, out=positions)
    counts = work.take("counts", covered, count_type)
    np.take(dense, positions, out=counts, mode="clip")  # in range: no checked copy
    series_spans = np.searchsorted(starts, series_firsts)  # each series' first span
    series_first_covered = covered_begins[series_spans]
    deltas = work.take("deltas", len(counts), count_type)
    np.subtract(counts[1:], counts[:-1], out=deltas[1:])  # across spans too, as the schema says
    deltas[series_first_covered] = counts[series_first_covered]
    packed, byte_offsets = packed_varints(_zigzag(deltas))
    delta_cuts = [*byte_offsets[series_first_covered].tolist(), len(packed)]
    covered_bounds = [*series_first_covered.tolist(), covered]
    delta_offsets = [  # taken now: `byte_offsets` lives in the workspace
        b""
        if delta_cuts[i + 1] - delta_cuts[i] == covered_bounds[i + 1] - covered_bounds[i]
        else (byte_offsets[covered_bounds[i] : covered_bounds[i + 1] + 1] - delta_cuts[i]).tobytes()
        for i in range(len(blocks))
    ]

    span_offsets = np.empty(len(starts), dtype=np.int64)
    span_offsets[1:] = firsts[1:] - lasts[:-1] - 1
    span_offsets[series_spans] = firsts[series_spans] - begins[:-1] + lows
    spans, span_bytes = _span_fields(span_offsets, span_lengths.astype(np.int64))
    span_cuts = span_bytes[np.append(series_spans, len(starts))].tolist()
    sizes = [delta_cuts[i + 1] - delta_cuts[i] for i in range(len(blocks))]
    fields = [
        b"".join(
            (
                spans[span_cuts[i] : span_cuts[i + 1]],
                _DELTA_TAG,
                varint(size),
                packed[delta_cuts[i] : delta_cuts[i + 1]],
            )
        )
        for i, size in enumerate(sizes)
    ]
    span_owner = np.repeat(np.arange(len(blocks)), np.diff(np.append(series_spans, len(starts))))
    shift = lows - begins[:-1]
    first_indices = (firsts + shift[span_owner]).tolist()
    last_indices = (lasts + shift[span_owner]).tolist()
    before = covered_begins.tolist()
    span_bounds = [*series_spans.tolist(), len(starts)]
    layouts = []
    for i in range(len(blocks)):
        a, b = span_bounds[i], span_bounds[i + 1]
        layouts.append(
            Layout(
                first_indices[a:b],
                last_indices[a:b],
                [n - before[a] for n in before[a:b]],
                spans[span_cuts[i] : span_cuts[i + 1]],
                packed[delta_cuts[i] : delta_cuts[i + 1]],
                delta_offsets[i],
            )
        )
    return fields, layouts


_DELTA_TAG = bytes((13 << 3 | 2,))
"""`Histogram.positive_delta` (field 13, packed sint64s: length-delimited)."""


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
