"""The capacity search's strategy: which open-model rate to probe next. Pure, no I/O.

    search = CapacitySearch(start_rps=50, max_probes=12)
    while (rate := search.next_rate()) is not None:
        search.record(rate, ok=probe(rate))          # ok: every SLA objective held
    search.result()                                  # CapacityResult: max_rate, probes

An exponential ramp (x `factor` per passing probe) finds a failing rate; a binary search
between the highest pass and the lowest fail then narrows the knee until the two are
within `precision` of each other (relative) or the probe budget is spent. The answer is
the highest rate that passed, never interpolated; a search whose first probe fails has no
answer (max_rate None) and says so. O(1) per call.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CapacityResult", "CapacitySearch", "Probe"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe: the offered rate in requests/s and whether the SLA held."""

    rate: float
    ok: bool


@dataclass(frozen=True, slots=True)
class CapacityResult:
    """`max_rate`: the highest offered rate (req/s) that kept the SLA (None: even the first
    probe failed); `min_failed`: the lowest that broke it (None: none did within the
    budget, so the true capacity is at least `max_rate`); `recommended`: `headroom` x
    `max_rate`, the operating point to plan with."""

    max_rate: float | None
    min_failed: float | None
    probes: tuple[Probe, ...]
    recommended: float | None

    @property
    def bounded(self) -> bool:
        """Whether the knee was bracketed (both a pass and a fail were seen)."""
        return self.max_rate is not None and self.min_failed is not None


class CapacitySearch:
    """The probe sequence; `next_rate()` then `record(rate, ok)`, until next_rate is None.

    `start_rps` > 0, `factor` > 1, 0 < `precision` < 1, `max_probes` >= 1,
    0 < `headroom` <= 1; a ValueError names the bad argument."""

    def __init__(
        self,
        start_rps: float,
        *,
        factor: float = 2.0,
        precision: float = 0.05,
        max_probes: int = 12,
        max_rps: float = 1_000_000.0,
        headroom: float = 0.8,
    ) -> None:
        for name, value, good in (
            ("start_rps", start_rps, start_rps > 0),
            ("factor", factor, factor > 1),
            ("precision", precision, 0 < precision < 1),
            ("max_probes", max_probes, max_probes >= 1),
            ("max_rps", max_rps, max_rps >= start_rps),
            ("headroom", headroom, 0 < headroom <= 1),
        ):
            if not good:
                raise ValueError(f"{name}: out of range, got {value!r}")
        self._start = start_rps
        self._factor = factor
        self._precision = precision
        self._max_probes = max_probes
        self._max_rps = max_rps
        self._headroom = headroom
        self._probes: list[Probe] = []
        self._passed: float | None = None
        self._failed: float | None = None

    def next_rate(self) -> float | None:
        """The next rate to offer in req/s, or None when the search is done."""
        if len(self._probes) >= self._max_probes:
            return None
        lo, hi = self._passed, self._failed
        if hi is None:  # still ramping
            if lo is None:
                return self._start if not self._probes else None
            if lo >= self._max_rps:
                return None
            return min(lo * self._factor, self._max_rps)
        if lo is None:  # the first probe failed
            return None
        if (hi - lo) / lo <= self._precision:
            return None
        return (lo + hi) / 2.0

    def record(self, rate: float, ok: bool) -> None:
        """The outcome of the probe at `rate` (the rate next_rate returned)."""
        self._probes.append(Probe(rate, ok))
        if ok and (self._passed is None or rate > self._passed):
            self._passed = rate
        if not ok and (self._failed is None or rate < self._failed):
            self._failed = rate

    def result(self) -> CapacityResult:
        """What the probes so far show (call when next_rate() is None, or any time)."""
        recommended = None if self._passed is None else self._passed * self._headroom
        return CapacityResult(self._passed, self._failed, tuple(self._probes), recommended)
