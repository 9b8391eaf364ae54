"""A native histogram's spans and deltas patched where the buckets changed, not redone (pure).

Between two scrapes of a busy service each series gains a few requests, which change a few
of its hundreds of buckets; re-deriving every span and delta (`native_batch`, O(range) numpy
work, about 5 us a series) is then mostly wasted. Each series' last encoding is kept as a
`NativeEncoding` (span layout, the packed zigzag varints and where each one sits), and a
snapshot that names its changed buckets (`NativeHistogram.base` and `changed`) is encoded by
rewriting, in place, the varints of the deltas at each changed bucket and the next one
(a delta is a count minus the previous covered bucket's): about 1 us a changed bucket.

A changed bucket inside a span changes no span (counts only grow); one outside every span
(a latency not seen before) grows the neighbouring span within `max_gap`, merges two, or
becomes a span of its own, spliced into the bytes while every varint is one byte. When a
varint would change length, or the layout moves with multi-byte varints, that series is
encoded afresh with the others in one `native_batch` pass; the output is the same bytes
either way (the tests compare after random folds and scrapes).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

from collector.native_batch import Layout, spans_deltas_and_layouts
from collector.native_buckets import DenseBuckets
from collector.recorder import NativeHistogram
from collector.varint import varint

__all__ = ["Encoded", "NativeEncoding", "span_and_delta_fields"]


class NativeEncoding:
    """One series' spans and deltas as last encoded, patched in place by the next snapshot.

    `version` goes up at every patch, so an `Encoded` of an older snapshot no longer
    matches it (a stale snapshot is encoded afresh, never patched from a newer state).
    Memory: a byte or so a covered bucket, plus 8 a bucket once deltas take more than one
    byte (about 0.5-6 KB a series at schema 6). Patch under the recorder's lock, as the
    scrape encodes: the state is shared with the previous snapshot's cache."""

    __slots__ = (
        "covered_before",
        "max_gap",
        "offsets",
        "packed",
        "span_firsts",
        "span_lasts",
        "spans",
        "version",
    )

    def __init__(self, layout: Layout, max_gap: int) -> None:
        self.max_gap = max_gap
        """Empty buckets a span runs across (as `native_batch` was given)."""
        self.span_firsts = layout.span_firsts
        self.span_lasts = layout.span_lasts
        self.covered_before = layout.covered_before
        self.spans = layout.spans
        self.packed = bytearray(layout.packed)
        self.offsets: array[int] | None = None
        """Each delta's byte offset in `packed` (one more: its length); None while every
        varint is one byte (offset = position)."""
        if layout.delta_offsets:
            self.offsets = array("q")
            self.offsets.frombytes(layout.delta_offsets)
        self.version = 0

    def fields(self) -> bytes:
        """The `positive_span` fields, then the `positive_delta` field."""
        size = len(self.packed)
        return b"".join((self.spans, _DELTA_TAG, varint(size), self.packed))

    def patch(self, buckets: DenseBuckets, changed: Sequence[int]) -> bool:
        """Rewrite the deltas that `changed` (bucket indices) can have moved, reading the
        counts from `buckets`; False when a patch cannot apply (then this encoding is
        spoilt: encode afresh)."""
        self.version += 1
        counts, low = buckets.counts, buckets.low
        firsts, lasts, before = self.span_firsts, self.span_lasts, self.covered_before
        packed, offsets = self.packed, self.offsets
        moved = False
        for index in changed:
            span = bisect_right(firsts, index) - 1
            if span < 0 or index > lasts[span]:
                if not self._cover(index, span, counts, low):
                    return False
                moved = True
                continue
            at = index - low
            count = counts[at]
            first = firsts[span]
            if index > first:
                delta = count - counts[at - 1]
            else:
                delta = count - counts[lasts[span - 1] - low] if span else count
            position = before[span] + index - first
            zigzag = (delta << 1) ^ (delta >> 63)
            if offsets is None and zigzag < 0x80:
                packed[position] = zigzag
            elif not self._write(position, zigzag):
                return False
            if index < lasts[span]:
                delta = counts[at + 1] - count
            elif span + 1 < len(firsts):
                delta = counts[firsts[span + 1] - low] - count
            else:
                continue
            zigzag = (delta << 1) ^ (delta >> 63)
            if offsets is None and zigzag < 0x80:
                packed[position + 1] = zigzag
            elif not self._write(position + 1, zigzag):
                return False
        if moved:
            self.spans = _span_fields(firsts, lasts)
        return True

    def _cover(self, index: int, left: int, counts: array[int], low: int) -> bool:
        """Bring bucket `index`, outside every span and right of span `left` (-1: none),
        into the layout: a span of its own, or the neighbour within `max_gap` grown to it
        (two neighbours merge). Only while every varint is one byte (a splice there moves
        no offset); False otherwise."""
        if self.offsets is not None or not 0 <= index - low < len(counts):
            return False
        firsts, lasts = self.span_firsts, self.span_lasts
        right = left + 1
        joins_left = left >= 0 and index - lasts[left] - 1 <= self.max_gap
        joins_right = right < len(firsts) and firsts[right] - index - 1 <= self.max_gap
        start = lasts[left] + 1 if joins_left else index
        end = firsts[right] - 1 if joins_right else index
        following_bucket = firsts[right] if right < len(firsts) else None
        previous = counts[lasts[left] - low] if left >= 0 else 0
        zigzags = []
        for bucket in range(start, end + 1):
            count = counts[bucket - low]
            delta = count - previous
            zigzags.append((delta << 1) ^ (delta >> 63))
            previous = count
        if max(zigzags) > 0x7F:
            return False
        at = self.covered_before[right] if right < len(firsts) else len(self.packed)
        self.packed[at:at] = bytes(zigzags)
        if joins_left and joins_right:
            lasts[left] = lasts.pop(right)
            del firsts[right]
        elif joins_left:
            lasts[left] = index
        elif joins_right:
            firsts[right] = index
        else:
            firsts.insert(right, index)
            lasts.insert(right, index)
        self.covered_before[:] = [0, *accumulate(map(_length, firsts[:-1], lasts[:-1]))]
        if following_bucket is None:
            return True
        delta = counts[following_bucket - low] - previous
        return self._write(at + len(zigzags), (delta << 1) ^ (delta >> 63))

    def _write(self, position: int, zigzag: int) -> bool:
        """Overwrite delta `position` with varint `zigzag` if it keeps its byte length."""
        offsets = self.offsets
        if offsets is None:
            if zigzag > 0x7F:
                return False
            self.packed[position] = zigzag
            return True
        encoded = varint(zigzag)
        start = offsets[position]
        if offsets[position + 1] - start != len(encoded):
            return False
        self.packed[start : start + len(encoded)] = encoded
        return True


class Encoded(NamedTuple):
    """A native series' encoding as cached on its `NativeHistogram` (`protobuf_cache`)."""

    schema: int
    labels: bytes
    metric: bytes
    """The whole `MetricFamily.metric` field."""
    state: NativeEncoding | None
    """Its spans and deltas, for the next snapshot to patch (None: not patchable)."""
    version: int
    """`state.version` when this was encoded."""


def _base_state(hist: NativeHistogram) -> NativeEncoding | None:
    base = hist.base
    if isinstance(base, Encoded) and base.state is not None and base.state.version == base.version:
        return base.state
    return None


def span_and_delta_fields(
    histograms: Sequence[NativeHistogram], max_gap: int
) -> list[tuple[bytes, NativeEncoding | None]]:
    """Each histogram's `positive_span` and `positive_delta` fields, with the state its
    next snapshot can patch. Histograms must have buckets (see `native_batch`). Costs about
    1 us a changed bucket for a patched one; the others are encoded together afresh."""
    out: list[tuple[bytes, NativeEncoding | None]] = []
    fresh: list[int] = []
    for hist in histograms:
        state, buckets = _base_state(hist), hist.buckets
        if (
            state is not None
            and isinstance(buckets, DenseBuckets)
            and state.patch(buckets, hist.changed)
        ):
            out.append((state.fields(), state))
        else:
            fresh.append(len(out))
            out.append((b"", None))
    if fresh:
        chosen = [histograms[i] for i in fresh]
        fields, layouts = spans_deltas_and_layouts(
            [h.buckets for h in chosen],
            max_gap,
            largest_count=max(h.count for h in chosen),
        )
        for at, hist, encoded, layout in zip(fresh, chosen, fields, layouts, strict=True):
            patchable = isinstance(hist.buckets, DenseBuckets)
            out[at] = (encoded, NativeEncoding(layout, max_gap) if patchable else None)
    return out


def _length(first: int, last: int) -> int:
    return last - first + 1


def _span_fields(firsts: list[int], lasts: list[int]) -> bytes:
    """The `positive_span` fields (12) of spans from bucket `firsts[i]` to `lasts[i]`: a
    BucketSpan's offset (sint32, field 1) is the first index, then each gap."""
    out = []
    previous_end = 0
    for first, last in zip(firsts, lasts, strict=True):
        offset = first - previous_end
        body = b"\x08" + varint((offset << 1) ^ (offset >> 63)) + b"\x10" + varint(last - first + 1)
        out.append(b"\x62" + varint(len(body)) + body)
        previous_end = last + 1
    return b"".join(out)


_DELTA_TAG = bytes((13 << 3 | 2,))
"""`Histogram.positive_delta` (field 13, packed sint64s: length-delimited)."""
