"""A native histogram's cumulative bucket counts as one dense array over an index range (pure).

The fold adds each second's sketch bins in place (`add`: one `array` item update a bin,
about what a dict update costs); a scrape reads the counts with numpy without building
anything per bucket (`numpy.frombuffer` over `counts`): already sorted by bucket index,
empty buckets as zeros, so the encoder only looks for the non-zero entries and takes
differences (`native_batch`). Memory: 8 bytes a bucket between the smallest and the largest
latency seen (schema 6: 64 buckets per doubling, about 2,400 buckets from 100 ns to 3 hours).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping

__all__ = ["MAX_CHANGES", "DenseBuckets"]

MAX_CHANGES = 16
"""Changed indices kept between two reads of `changes`; past it, an encoder starts afresh
(a patch costs about 0.3 us a changed index, a fresh vectorized encoding about 4 us a
series: beyond about a dozen, patching stops paying)."""

_MARGIN = 32
"""Buckets added beyond a new extreme on each side when the range grows, so that a
latency drifting outward does not reallocate at every fold."""


class DenseBuckets(Mapping[int, int]):
    """Bucket index -> cumulative count, stored as `counts[k - low]` (zeros where empty).

    A read-only `Mapping` of the non-empty buckets for everyone but the fold (`add`), so it
    stands wherever bucket counts are read as a dict. `copy()` is a memcpy (O(range)).
    """

    __slots__ = ("changes", "counts", "low")

    def __init__(self, low: int = 0, counts: array[int] | None = None) -> None:
        self.low = low
        """Bucket index of `counts[0]`."""
        self.counts: array[int] = counts if counts is not None else array("q")
        """Signed 64-bit counts (typecode "q"), one a bucket from `low` on."""
        self.changes: list[int] | None = []
        """Bucket indices `add` changed since the reader last swapped in an empty list
        (repeats possible), or None once more than `MAX_CHANGES` piled up: what lets an
        encoder patch its last encoding instead of redoing it."""

    def add(self, bins: Mapping[int, int]) -> None:
        """Add `bins` (bucket index -> count, counts > 0) in place; grows the range when an
        index falls outside it (O(range) then, amortized by `_MARGIN`). One comparison and
        one array update a bin."""
        low, counts = self.low, self.counts
        size = len(counts)
        for key, count in bins.items():
            index = key - low
            if not 0 <= index < size:
                self._grow(key, key)
                low, counts = self.low, self.counts
                size, index = len(counts), key - low
            counts[index] += count
        changes = self.changes
        if changes is not None:
            changes += bins
            if len(changes) > MAX_CHANGES:
                self.changes = None

    def _grow(self, first: int, last: int) -> None:
        old_low, old = self.low, self.counts
        low = first - _MARGIN if not old or first < old_low else old_low
        high = last + _MARGIN if not old or last >= old_low + len(old) else old_low + len(old) - 1
        counts = array("q", bytes(8 * (high - low + 1)))
        if old:
            start = old_low - low
            counts[start : start + len(old)] = old
        self.low, self.counts = low, counts

    def copy(self) -> DenseBuckets:
        """An independent copy (the array's bytes copied once)."""
        return DenseBuckets(self.low, self.counts[:])

    def __getitem__(self, key: int) -> int:
        index = key - self.low
        if 0 <= index < len(self.counts) and self.counts[index]:
            return self.counts[index]
        raise KeyError(key)

    def __iter__(self) -> Iterator[int]:
        low = self.low
        return (low + i for i, count in enumerate(self.counts) if count)

    def __len__(self) -> int:
        return len(self.counts) - self.counts.count(0)

    def __bool__(self) -> bool:
        return bool(self.counts)  # the range grows only for a bin added with a count
