"""Counts and latency sketches of one slice of a load-test run (pure, no I/O).

`Series` is what `loadtests.stats.RunRecorder` keeps for the whole run, each endpoint and
each time window: request, error, scenario-failure, accepted, rate-limited and slow counts,
the latency sketch (and, in open-model runs, the raw latency from the actual send). Series
merge exactly and travel as JSON from a worker to the master. Not thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collector.quantiles import QuantileSketch
from loadtests.outcomes import Outcome

__all__ = ["Series"]

_SERVED, _ACCEPTED = Outcome.SERVED, Outcome.ACCEPTED
_ERROR, _UNEXPECTED = Outcome.ERROR, Outcome.UNEXPECTED
"""Module-level aliases: an enum member read through its class costs a lookup per request."""


class Series:
    """Counts and latency sketches of one slice of the run (whole, endpoint or window).

    `failures` counts SLA errors only; `unexpected` the scenario failures; `rate_limited`
    the 429 answers, which are not latency samples (nor slow)."""

    __slots__ = (
        "accepted",
        "failures",
        "latency",
        "max_s",
        "rate_limited",
        "raw",
        "requests",
        "slow",
        "unexpected",
    )

    def __init__(self, accuracy: float) -> None:
        self.latency = QuantileSketch(accuracy)
        self.raw = QuantileSketch(accuracy)
        self.requests = 0
        self.failures = 0
        self.unexpected = 0
        self.accepted = 0
        self.rate_limited = 0
        self.slow = 0
        self.max_s = 0.0

    def add_sample(self, latency_s: float, slow: bool, raw_latency_s: float | None) -> None:
        """One request that is a latency sample (all but 429s); the whole of a served one."""
        self.requests += 1
        self.latency.add(latency_s)
        if raw_latency_s is not None:
            self.raw.add(raw_latency_s)
        if slow:
            self.slow += 1
        if latency_s > self.max_s:
            self.max_s = latency_s

    def add(
        self,
        latency_s: float,
        outcome: Outcome,
        slow: bool,
        raw_latency_s: float | None,
        rate_limited: bool,
    ) -> None:
        if outcome is _ERROR:
            self.failures += 1
        elif outcome is _UNEXPECTED:
            self.unexpected += 1
        elif outcome is _ACCEPTED:
            self.accepted += 1
        if rate_limited:
            self.requests += 1
            self.rate_limited += 1
            return
        self.add_sample(latency_s, slow, raw_latency_s)

    def merge(self, other: Series) -> None:
        self.latency.merge(other.latency)
        self.raw.merge(other.raw)
        self.requests += other.requests
        self.failures += other.failures
        self.unexpected += other.unexpected
        self.accepted += other.accepted
        self.rate_limited += other.rate_limited
        self.slow += other.slow
        self.max_s = max(self.max_s, other.max_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency": self.latency.to_dict(),
            "raw": self.raw.to_dict(),
            "requests": self.requests,
            "failures": self.failures,
            "unexpected": self.unexpected,
            "accepted": self.accepted,
            "rate_limited": self.rate_limited,
            "slow": self.slow,
            "max_s": self.max_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], accuracy: float) -> Series:
        series = cls(accuracy)
        series.latency = QuantileSketch.from_dict(data["latency"])
        series.raw = QuantileSketch.from_dict(data["raw"])
        series.requests = int(data["requests"])
        series.failures = int(data["failures"])
        series.unexpected = int(data.get("unexpected", 0))
        series.accepted = int(data.get("accepted", 0))
        series.rate_limited = int(data.get("rate_limited", 0))
        series.slow = int(data["slow"])
        series.max_s = float(data["max_s"])
        return series
