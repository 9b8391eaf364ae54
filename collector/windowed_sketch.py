"""The windowed quantile sketch: the last `window_s` seconds in one-second slots.

Pure, no I/O: time is passed in as `now_s`. The guarantees are stated in
`collector.quantiles`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from collector.log_mapping import LogMapping
from collector.sketch import QuantileSketch
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

__all__ = ["WindowedSketch"]

_log = math.log
_ceil = math.ceil
_floor = math.floor
_INF = math.inf
_NO_SECOND = -(2**1100)  # "no second seen yet": below floor() of every float


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
            raise invalid_value("value_s", value_s)

    def add_bins(self, bins: Mapping[int, int], zero_count: int, now_s: float) -> None:
        """Bulk-add precomputed ``{mapping.key(v): count}`` at ``now_s``; O(len(bins))."""
        checked = check_bins(bins, "bins", self.mapping, str_keys=False)
        self._add_at(checked, check_int(zero_count, "zero_count", 0), self._second(now_s))

    def quantile(self, q: float, now_s: float) -> float:
        """Estimate of the q-quantile over the window ending at ``now_s``; nan if empty."""
        check_q(q)
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
        check_accuracy_match(self.mapping, other.mapping)
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
                {"second": sec, "zero_count": zero, "bins": bins_json(bins)}
                for sec, bins, zero in self._slot_items()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> WindowedSketch:
        """Rebuild from ``to_dict`` output; ValueError naming the first bad field."""
        fields = {"relative_accuracy", "window_s", "second", "dropped", "slots"}
        data = check_fields(data, "", fields)
        window_s = data["window_s"]
        if type(window_s) is not int or window_s < 1:
            raise ValueError(f"window_s: expected an integer >= 1, got {window_s!r}")
        sketch = cls(window_s, check_accuracy(data["relative_accuracy"], "relative_accuracy"))
        if data["second"] is not None:
            sketch._advance(check_int(data["second"], "second", -(2**62), 2**62))
        sketch.dropped = check_int(data["dropped"], "dropped", 0)
        slots = data["slots"]
        if not isinstance(slots, list):
            raise ValueError(f"slots: expected a list, got {slots!r}")
        seen: set[int] = set()
        for index, raw_slot in enumerate(slots):
            prefix = f"slots[{index}]."
            slot = check_fields(raw_slot, prefix, {"second", "zero_count", "bins"})
            sec = check_int(slot["second"], prefix + "second", -(2**62))
            if sec in seen or not sketch._sec - window_s < sec <= sketch._sec:
                raise ValueError(f"{prefix}second: {sec} is repeated or outside the window")
            seen.add(sec)
            bins = check_bins(slot["bins"], prefix + "bins", sketch.mapping, str_keys=True)
            sketch._add_at(bins, check_int(slot["zero_count"], prefix + "zero_count", 0), sec)
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
            add_into(self._open, bins)
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
