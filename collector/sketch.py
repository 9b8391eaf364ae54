"""The unwindowed quantile sketch: exact count, quantiles within a relative error, exact merge.

Pure, no I/O; the guarantees are stated in `collector.quantiles`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from collector.log_mapping import LogMapping
from collector.sketch_checks import (
    add_into,
    bins_json,
    check_accuracy,
    check_accuracy_match,
    check_bins,
    check_fields,
    check_int,
    check_q,
    invalid_value,
)

__all__ = ["QuantileSketch"]

_log = math.log
_ceil = math.ceil
_INF = math.inf


class QuantileSketch:
    """Mergeable, unwindowed sketch: exact count, quantiles within relative_accuracy.

    ``add`` costs one log and one dict increment; ``quantile`` sorts the occupied buckets
    (O(b log b), b ~ 1,000). Not thread-safe: give each thread its own sketch and merge.
    """

    __slots__ = ("_bins", "_count", "_multiplier", "_zero", "mapping")

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        self._init(LogMapping(relative_accuracy), {}, 0)

    def _init(self, mapping: LogMapping, bins: dict[int, int], zero: int) -> None:
        self.mapping = mapping
        self._multiplier = mapping.multiplier
        self._bins = bins
        self._zero = zero
        self._count = zero + sum(bins.values())

    @classmethod
    def _of(cls, mapping: LogMapping, bins: dict[int, int], zero: int) -> QuantileSketch:
        """Unchecked: a sketch sharing ``mapping`` that takes ownership of ``bins``."""
        sketch = cls.__new__(cls)
        sketch._init(mapping, bins, zero)
        return sketch

    @property
    def relative_accuracy(self) -> float:
        """The guaranteed relative error of ``quantile`` (0.01 = 1 %)."""
        return self.mapping.relative_accuracy

    @property
    def count(self) -> int:
        """Exact number of values added."""
        return self._count

    @property
    def zero_count(self) -> int:
        """Number of 0.0 values added (kept exactly, outside the log buckets)."""
        return self._zero

    @property
    def bins(self) -> Mapping[int, int]:
        """Read-only live view of ``{bucket key: count}``."""
        return MappingProxyType(self._bins)

    def add(self, value: float, count: int = 1) -> None:
        """Add ``value`` (finite, >= 0; seconds by convention) ``count`` times."""
        if type(count) is not int or count < 1:
            count = check_int(count, "count", 1)
        if 0.0 < value < _INF:
            bins = self._bins
            key = _ceil(_log(value) * self._multiplier)
            bins[key] = bins.get(key, 0) + count
        elif value == 0.0:
            self._zero += count
        else:
            raise invalid_value("value", value)
        self._count += count

    def add_bins(self, bins: Mapping[int, int], zero_count: int = 0) -> None:
        """Bulk-add precomputed ``{mapping.key(v): count}``; validated, O(len(bins))."""
        checked = check_bins(bins, "bins", self.mapping, str_keys=False)
        self._add_counts(checked, check_int(zero_count, "zero_count", 0))

    def merge(self, other: QuantileSketch) -> None:
        """Add all of ``other`` into this sketch; exact (same result as one sketch)."""
        check_accuracy_match(self.mapping, other.mapping)
        self._add_counts(dict(other._bins), other._zero)

    def quantile(self, q: float) -> float:
        """Estimate of the q-quantile (inverted CDF), within relative_accuracy; nan if empty."""
        check_q(q)
        if not self._count:
            return math.nan
        rank = max(1, _ceil(q * self._count))
        seen = self._zero
        if rank <= seen:
            return 0.0
        bins = self._bins
        for key in sorted(bins):
            seen += bins[key]
            if seen >= rank:
                return self.mapping.value(key)
        raise AssertionError("unreachable: bin counts do not add up to count")

    def to_dict(self) -> dict[str, object]:
        """JSON-safe state; keys sorted so equal sketches serialize identically."""
        return {
            "relative_accuracy": self.mapping.relative_accuracy,
            "zero_count": self._zero,
            "bins": bins_json(self._bins),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> QuantileSketch:
        """Rebuild from ``to_dict`` output; ValueError naming the first bad field."""
        data = check_fields(data, "", {"relative_accuracy", "zero_count", "bins"})
        sketch = cls(check_accuracy(data["relative_accuracy"], "relative_accuracy"))
        bins = check_bins(data["bins"], "bins", sketch.mapping, str_keys=True)
        sketch._add_counts(bins, check_int(data["zero_count"], "zero_count", 0))
        return sketch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        return (
            self.mapping.relative_accuracy == other.mapping.relative_accuracy
            and self._zero == other._zero
            and self._bins == other._bins
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        accuracy = self.mapping.relative_accuracy
        return f"QuantileSketch(relative_accuracy={accuracy!r}, count={self._count})"

    def _add_counts(self, bins: Mapping[int, int], zero: int) -> None:
        """Unchecked bulk add; ``bins`` must not be this sketch's own dict."""
        add_into(self._bins, bins)
        self._zero += zero
        self._count += zero + sum(bins.values())

    def _subtract(self, other: QuantileSketch) -> None:
        """Unchecked inverse of ``merge``: ``other`` must have been added before."""
        bins = self._bins
        for key, count in other._bins.items():
            left = bins[key] - count
            if left:
                bins[key] = left
            else:
                del bins[key]
        self._zero -= other._zero
        self._count -= other._count
