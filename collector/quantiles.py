"""Mergeable quantile sketches with a relative-error guarantee (DDSketch-style, pure core).

The buckets are those of Prometheus native histograms (base 2**(2**-schema)), so the same
bins feed the 1 Hz snapshots and the native histogram that `/metrics` exposes.

Values are non-negative floats, typically latencies in seconds. For every q in [0, 1] the
estimate is within ``relative_accuracy`` of the exact inverted-CDF quantile (the r-th smallest
sample, r = max(1, ceil(q * n)), as ``numpy.quantile(..., method="inverted_cdf")``); counts are
exact and merging is exact. Memory is one dict entry per occupied bucket: about
64 * log2(max / min) entries at schema 6 (1 %), e.g. ~1,900 for 1 us .. 1000 s.

Caveats: subnormal inputs (< 2.2e-308) carry an extra absolute error of at most 2**-1074 (one
step of the float grid there). Below relative_accuracy ~1e-6 the bound may be exceeded by up to
~2e-13, as float rounding of logarithms outgrows the internal 1e-7 * accuracy safety margin.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import SupportsIndex

__all__ = ["LogMapping", "QuantileSketch", "WindowedSketch", "native_schema_for"]

_log = math.log
_ceil = math.ceil
_floor = math.floor
_exp = math.exp
_INF = math.inf
_FLOAT_MAX = sys.float_info.max
_MIN_POSITIVE = 5e-324  # smallest subnormal
_NO_SECOND = -(2**1100)  # "no second seen yet": below floor() of every float
_MARGIN = 1e-7  # internal accuracy is relative_accuracy * (1 - _MARGIN)
_MIN_SCHEMA = -4  # the coarsest native-histogram schema: growth factor 65,536
_MAX_NATIVE_SCHEMA = 8  # the finest schema Prometheus accepts


def _invalid_value(name: str, value: object) -> ValueError:
    return ValueError(f"{name}: expected a finite value >= 0, got {value!r}")


def _check_int(value: object, field: str, minimum: int, maximum: int | None = None) -> int:
    if type(value) is not int:  # exact type: rejects bool, float and str
        if isinstance(value, bool) or not isinstance(value, SupportsIndex):
            raise ValueError(f"{field}: expected an integer >= {minimum}, got {value!r}")
        value = operator.index(value)
    if value < minimum or (maximum is not None and value > maximum):
        limits = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{field}: expected an integer {limits}, got {value!r}")
    return value


def _check_accuracy(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise ValueError(f"{field}: expected a float in (0, 1), got {value!r}")
    return float(value)


def _check_fields(data: object, prefix: str, required: set[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{prefix or 'data'}: expected a mapping, got {data!r}")
    missing = sorted(required - data.keys())
    if missing:
        raise ValueError(f"{prefix}{missing[0]}: missing")
    unknown = sorted(map(str, set(data) - required))
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown field")
    return data


def _check_q(q: float) -> None:
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q: expected a quantile in [0, 1], got {q!r}")


def native_schema_for(relative_accuracy: float) -> int:
    """The coarsest base-2 schema s (growth 2**(2**-s)) whose accuracy (g - 1) / (g + 1) is
    within `relative_accuracy` (less a 1e-7 safety margin for float rounding): 6 for 1 %."""
    target = relative_accuracy * (1.0 - _MARGIN)
    schema = _MIN_SCHEMA
    while _schema_accuracy(schema) > target:
        schema += 1
    return schema


def _schema_accuracy(schema: int) -> float:
    growth: float = 2.0 ** (2.0**-schema)
    return (growth - 1.0) / (growth + 1.0)


class LogMapping:
    """Logarithmic mapping on Prometheus' native-histogram bucket grid.

    The growth factor is gamma = 2**(2**-schema), with the coarsest schema whose accuracy
    (gamma - 1) / (gamma + 1) is within ``relative_accuracy`` (schema 6, 0.54 %, for 1 %).
    Bucket ``k`` holds values in (gamma**(k-1), gamma**k], exactly Prometheus' native bucket
    ``k`` of that schema, so a sketch's bins export as a native histogram without loss
    (``native_schema`` is None past schema 8, the finest Prometheus accepts).
    ``value(k)`` is within the accuracy of every value in bucket ``k``. Keys fit any positive
    finite float (about -65,600 .. 65,500 at schema 6).
    """

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        self.relative_accuracy: float = _check_accuracy(relative_accuracy, "relative_accuracy")
        self.schema: int = native_schema_for(self.relative_accuracy)
        gamma = 2.0 ** (2.0**-self.schema)
        self._ln_gamma: float = math.log(2.0) * 2.0**-self.schema
        self.multiplier: float = 1.0 / self._ln_gamma
        # ln(2 / (1 + gamma)): the representative 2 * gamma**k / (1 + gamma) is off by at most
        # (gamma - 1) / (gamma + 1) from both ends of the bucket.
        self._rep_offset: float = math.log(2.0 / (1.0 + gamma))
        self.min_key: int = self.key(_MIN_POSITIVE)
        self.max_key: int = self.key(_FLOAT_MAX)

    @property
    def native_schema(self) -> int | None:
        """The Prometheus native-histogram schema of the buckets, or None past schema 8."""
        return self.schema if self.schema <= _MAX_NATIVE_SCHEMA else None

    def key(self, value: float) -> int:
        """Bucket key of a positive finite ``value``: ceil(ln(value) * multiplier)."""
        return _ceil(_log(value) * self.multiplier)

    def value(self, key: int) -> float:
        """Representative of bucket ``key``, within relative_accuracy of its values."""
        try:
            return _exp(key * self._ln_gamma + self._rep_offset)
        except OverflowError:  # top bucket: clamping to the largest float only reduces error
            return _FLOAT_MAX

    def lower_bound(self, key: int) -> float:
        """Exclusive lower edge of bucket ``key``: gamma**(key - 1) (0.0 on underflow)."""
        return self.upper_bound(key - 1)

    def upper_bound(self, key: int) -> float:
        """Inclusive upper edge of bucket ``key``: gamma**key (inf on overflow)."""
        try:
            return _exp(key * self._ln_gamma)
        except OverflowError:
            return _INF


def _check_accuracy_match(mine: LogMapping, other: LogMapping) -> None:
    if mine.relative_accuracy != other.relative_accuracy:
        raise ValueError(
            f"relative_accuracy: cannot merge sketches with accuracy {other.relative_accuracy!r} "
            f"into accuracy {mine.relative_accuracy!r}"
        )


def _check_bins(bins: object, field: str, mapping: LogMapping, str_keys: bool) -> dict[int, int]:
    """Validate ``{key: count}`` (string keys when from JSON); zero counts are dropped."""
    if not isinstance(bins, Mapping):
        raise ValueError(f"{field}: expected a mapping of bucket key to count, got {bins!r}")
    checked: dict[int, int] = {}
    for raw_key, raw_count in bins.items():
        if str_keys:
            try:
                key = int(raw_key) if isinstance(raw_key, str) else None
            except ValueError:
                key = None
            if key is None or str(key) != raw_key:
                raise ValueError(f"{field}: expected integer keys as strings, got {raw_key!r}")
        else:
            key = _check_int(raw_key, f"{field} key", -(2**63))
        if not mapping.min_key <= key <= mapping.max_key:
            raise ValueError(
                f"{field}: key {raw_key!r} is outside [{mapping.min_key}, {mapping.max_key}]"
            )
        count = _check_int(raw_count, f"{field}[{raw_key!r}]", 0)
        if count:
            checked[key] = count
    return checked


def _add_into(target: dict[int, int], source: Mapping[int, int]) -> None:
    get = target.get
    for key, count in source.items():
        target[key] = get(key, 0) + count


def _bins_json(bins: Mapping[int, int]) -> dict[str, int]:
    return {str(key): bins[key] for key in sorted(bins)}


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
            count = _check_int(count, "count", 1)
        if 0.0 < value < _INF:
            bins = self._bins
            key = _ceil(_log(value) * self._multiplier)
            bins[key] = bins.get(key, 0) + count
        elif value == 0.0:
            self._zero += count
        else:
            raise _invalid_value("value", value)
        self._count += count

    def add_bins(self, bins: Mapping[int, int], zero_count: int = 0) -> None:
        """Bulk-add precomputed ``{mapping.key(v): count}``; validated, O(len(bins))."""
        checked = _check_bins(bins, "bins", self.mapping, str_keys=False)
        self._add_counts(checked, _check_int(zero_count, "zero_count", 0))

    def merge(self, other: QuantileSketch) -> None:
        """Add all of ``other`` into this sketch; exact (same result as one sketch)."""
        _check_accuracy_match(self.mapping, other.mapping)
        self._add_counts(dict(other._bins), other._zero)

    def quantile(self, q: float) -> float:
        """Estimate of the q-quantile (inverted CDF), within relative_accuracy; nan if empty."""
        _check_q(q)
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
            "bins": _bins_json(self._bins),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> QuantileSketch:
        """Rebuild from ``to_dict`` output; ValueError naming the first bad field."""
        data = _check_fields(data, "", {"relative_accuracy", "zero_count", "bins"})
        sketch = cls(_check_accuracy(data["relative_accuracy"], "relative_accuracy"))
        bins = _check_bins(data["bins"], "bins", sketch.mapping, str_keys=True)
        sketch._add_counts(bins, _check_int(data["zero_count"], "zero_count", 0))
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
        _add_into(self._bins, bins)
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


class WindowedSketch:
    """Quantiles over the last `window_s` one-second slots; a ring of slots with running totals.

    A sample observed at ``now_s`` (seconds, any clock) belongs to second floor(now_s); the
    window at t holds seconds floor(t) - window_s + 1 .. floor(t). Samples for older seconds are
    dropped and counted in ``dropped``. Time never moves backward: a ``now_s`` earlier than the
    latest second seen queries the window ending at that latest second.

    Cost: ``observe`` is one log and one dict increment into the open second. Moving to a new
    second folds the closed one into running totals and subtracts expired slots (O(buckets
    touched), amortized O(1) per second; a jump of >= window_s just clears). ``quantile``,
    ``count`` and ``window`` copy the totals (O(b), b ~ 1,000 buckets). Not thread-safe.
    """

    def __init__(self, window_s: int = 60, relative_accuracy: float = 0.01) -> None:
        if type(window_s) is not int or window_s < 1:
            raise ValueError(f"window_s: expected an integer >= 1, got {window_s!r}")
        self.window_s = window_s
        self.mapping = LogMapping(relative_accuracy)
        self.relative_accuracy = self.mapping.relative_accuracy
        self._multiplier = self.mapping.multiplier
        self.dropped = 0  # samples that arrived for a second already outside the window
        self._sec = _NO_SECOND  # the open (latest) second, as int and as float bounds
        self._open_from_s = self._open_until_s = _INF
        self._open: dict[int, int] = {}  # counts of the open second: the hot path's only write
        self._open_zero = 0
        self._slots: dict[int, QuantileSketch] = {}  # closed seconds inside the window
        self._totals = QuantileSketch._of(self.mapping, {}, 0)  # sum of self._slots

    def observe(self, value_s: float, now_s: float) -> None:
        """Record one value (seconds, finite, >= 0) at time ``now_s`` (seconds)."""
        if 0.0 < value_s < _INF:
            key = _ceil(_log(value_s) * self._multiplier)
            if self._open_from_s <= now_s < self._open_until_s:  # floor(now_s) == open second
                bins = self._open
                bins[key] = bins.get(key, 0) + 1
            else:
                self._add_at({key: 1}, 0, self._second(now_s))
        elif value_s == 0.0:
            self._add_at({}, 1, self._second(now_s))
        else:
            raise _invalid_value("value_s", value_s)

    def add_bins(self, bins: Mapping[int, int], zero_count: int, now_s: float) -> None:
        """Bulk-add precomputed ``{mapping.key(v): count}`` at ``now_s``; O(len(bins))."""
        checked = _check_bins(bins, "bins", self.mapping, str_keys=False)
        self._add_at(checked, _check_int(zero_count, "zero_count", 0), self._second(now_s))

    def quantile(self, q: float, now_s: float) -> float:
        """Estimate of the q-quantile over the window ending at ``now_s``; nan if empty."""
        _check_q(q)
        return self.window(now_s).quantile(q)

    def count(self, now_s: float) -> int:
        """Exact number of samples in the window ending at ``now_s``."""
        self._advance(self._second(now_s))
        return self._totals._count + self._open_zero + sum(self._open.values())

    def window(self, now_s: float) -> QuantileSketch:
        """The window ending at ``now_s`` merged into a new QuantileSketch."""
        self._advance(self._second(now_s))
        totals = self._totals
        merged = QuantileSketch._of(self.mapping, dict(totals._bins), totals._zero)
        merged._add_counts(self._open, self._open_zero)
        return merged

    def merge(self, other: WindowedSketch) -> None:
        """Add ``other`` slot by slot, aligned by absolute second; ``dropped`` is summed.

        Afterwards this sketch equals one that observed both streams, apart from ``dropped``.
        """
        _check_accuracy_match(self.mapping, other.mapping)
        if other.window_s != self.window_s:
            raise ValueError(
                f"window_s: cannot merge a {other.window_s} s window into a {self.window_s} s one"
            )
        slots = [(sec, dict(bins), zero) for sec, bins, zero in other._slot_items()]
        self._advance(other._sec)
        for sec, bins, zero in slots:
            if sec > self._sec - self.window_s:  # slots expired by the merge are not late
                self._add_at(bins, zero, sec)
        self.dropped += other.dropped

    def to_dict(self) -> dict[str, object]:
        """JSON-safe state: every non-empty slot with its absolute second, oldest first."""
        return {
            "relative_accuracy": self.relative_accuracy,
            "window_s": self.window_s,
            "second": None if self._sec == _NO_SECOND else self._sec,
            "dropped": self.dropped,
            "slots": [
                {"second": sec, "zero_count": zero, "bins": _bins_json(bins)}
                for sec, bins, zero in self._slot_items()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> WindowedSketch:
        """Rebuild from ``to_dict`` output; ValueError naming the first bad field."""
        fields = {"relative_accuracy", "window_s", "second", "dropped", "slots"}
        data = _check_fields(data, "", fields)
        window_s = data["window_s"]
        if type(window_s) is not int or window_s < 1:
            raise ValueError(f"window_s: expected an integer >= 1, got {window_s!r}")
        sketch = cls(window_s, _check_accuracy(data["relative_accuracy"], "relative_accuracy"))
        if data["second"] is not None:
            sketch._advance(_check_int(data["second"], "second", -(2**62), 2**62))
        sketch.dropped = _check_int(data["dropped"], "dropped", 0)
        slots = data["slots"]
        if not isinstance(slots, list):
            raise ValueError(f"slots: expected a list, got {slots!r}")
        seen: set[int] = set()
        for index, raw_slot in enumerate(slots):
            prefix = f"slots[{index}]."
            slot = _check_fields(raw_slot, prefix, {"second", "zero_count", "bins"})
            sec = _check_int(slot["second"], prefix + "second", -(2**62))
            if sec in seen or not sketch._sec - window_s < sec <= sketch._sec:
                raise ValueError(f"{prefix}second: {sec} is repeated or outside the window")
            seen.add(sec)
            bins = _check_bins(slot["bins"], prefix + "bins", sketch.mapping, str_keys=True)
            sketch._add_at(bins, _check_int(slot["zero_count"], prefix + "zero_count", 0), sec)
        return sketch

    def __eq__(self, other: object) -> bool:
        """Same accuracy, window, latest second and slots (``dropped`` is not compared)."""
        if not isinstance(other, WindowedSketch):
            return NotImplemented
        mine, theirs = self.to_dict(), other.to_dict()
        del mine["dropped"], theirs["dropped"]
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        accuracy = self.relative_accuracy
        return f"WindowedSketch(window_s={self.window_s}, relative_accuracy={accuracy!r})"

    def _second(self, now_s: float) -> int:
        try:
            return _floor(now_s)
        except (ValueError, OverflowError):
            raise ValueError(f"now_s: expected a finite time in seconds, got {now_s!r}") from None

    def _slot_items(self) -> list[tuple[int, Mapping[int, int], int]]:
        """Non-empty slots as (second, bins, zero_count), oldest first (open slot last)."""
        items: list[tuple[int, Mapping[int, int], int]]
        items = [(sec, slot._bins, slot._zero) for sec, slot in sorted(self._slots.items())]
        if self._open or self._open_zero:
            items.append((self._sec, self._open, self._open_zero))
        return items

    def _add_at(self, bins: Mapping[int, int], zero: int, sec: int) -> None:
        """Add counts for second ``sec``: the open one, a late one in the window, or too old."""
        self._advance(sec)
        if sec == self._sec:
            _add_into(self._open, bins)
            self._open_zero += zero
        elif sec > self._sec - self.window_s:
            slot = self._slots.get(sec)
            if slot is None:
                slot = self._slots[sec] = QuantileSketch._of(self.mapping, {}, 0)
            slot._add_counts(bins, zero)
            self._totals._add_counts(bins, zero)
        else:
            self.dropped += zero + sum(bins.values())

    def _advance(self, sec: int) -> None:
        """Move the open second forward to ``sec``: close it, expire slots left of the window."""
        old = self._sec
        if sec <= old:
            return
        self._sec = sec
        self._open_from_s, self._open_until_s = float(sec), float(sec + 1)
        if sec - old >= self.window_s:
            self._slots.clear()
            self._totals = QuantileSketch._of(self.mapping, {}, 0)
        else:
            if self._open or self._open_zero:
                closed = self._slots[old] = QuantileSketch._of(
                    self.mapping, self._open, self._open_zero
                )
                self._totals._add_counts(closed._bins, closed._zero)
            for expired in range(old - self.window_s + 1, sec - self.window_s + 1):
                gone = self._slots.pop(expired, None)
                if gone is not None:
                    self._totals._subtract(gone)
        self._open = {}
        self._open_zero = 0
