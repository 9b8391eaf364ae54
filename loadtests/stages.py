"""Load shapes as stages (k6's `stages`): ramp, hold, spike and step (pure, no clock).

    stages = parse_stages("30s:100,2m:500,30s:1500,1m:0")
    stages.total_s            # 240.0 seconds
    stages.target_at(15.0)    # 50.0: halfway up the first ramp from 0 to 100
    stages.users_tick(15.0)   # (50, 2.0): users and spawn rate for a LoadTestShape tick

Each stage ramps linearly from the previous stage's target (0 before the first) to its own
over its duration; a 0s stage jumps at once (a step or a spike). The target is req/s in the
open model and users in the closed one. Time `t` is seconds since the run's start. After the
last stage the target stays at the last one. `arrival_s(i)` inverts the running integral of
the target, so an open-model schedule can start request i exactly on the shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Stage",
    "Stages",
    "StagesError",
    "load_stages",
    "parse_stage_duration",
    "parse_stages",
]

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)")
_UNIT_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_EXAMPLE = "'30s:100,2m:500,30s:0'"


class StagesError(ValueError):
    """A stages text is malformed; the message names the bad stage and says what was expected."""


@dataclass(frozen=True, slots=True)
class Stage:
    """Ramp linearly to `target` (req/s or users, >= 0) over `duration_s` seconds (>= 0)."""

    duration_s: float
    target: float


def parse_stage_duration(text: str) -> float:
    """'30s', '2m', '1h30m', '1.5m', '250ms', '0s' -> seconds (>= 0); StagesError otherwise."""
    compact = text.strip()
    parts = list(_PART.finditer(compact))
    if not parts or "".join(p.group(0) for p in parts) != compact:
        raise StagesError(f"expected a duration like 30s, 2m or 1h30m, got {text.strip()!r}")
    return sum(float(p.group(1)) * _UNIT_S[p.group(2)] for p in parts)


def parse_stages(text: str) -> Stages:
    """'DURATION:TARGET,...' -> Stages. StagesError names the first bad stage (1-based)."""
    items = text.split(",")
    stages: list[Stage] = []
    for number, item in enumerate(items, start=1):
        where = f"stage {number} {item.strip()!r}"
        duration, sep, target = item.partition(":")
        if not sep:
            raise StagesError(f"{where}: expected DURATION:TARGET like {_EXAMPLE}")
        try:
            seconds = parse_stage_duration(duration)
        except StagesError as exc:
            raise StagesError(f"{where}: {exc}") from None
        try:
            value = float(target)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise StagesError(f"{where}: expected a target >= 0, got {target.strip()!r}")
        stages.append(Stage(seconds, value))
    return Stages.of(stages)


def load_stages(text: str, *, users: bool) -> Stages:
    """`parse_stages` for a run: some target > 0, and whole numbers when they are `users`."""
    stages = parse_stages(text)
    if stages.peak <= 0:
        raise StagesError(f"every target is 0, nothing would run: {text.strip()!r}")
    fractional = [s.target for s in stages.stages if users and s.target != int(s.target)]
    if fractional:
        raise StagesError(
            f"the closed model's targets are users: expected whole numbers, got"
            f" {fractional[0]:g} (with --model open they are req/s)"
        )
    return stages


@dataclass(frozen=True, slots=True)
class Stages:
    """A piecewise-linear target over time; build with `parse_stages` or `Stages.of`."""

    stages: tuple[Stage, ...]

    @classmethod
    def of(cls, stages: Sequence[Stage]) -> Stages:
        """Check and freeze: at least one stage, a total duration > 0."""
        if not stages:
            raise StagesError(f"expected at least one stage like {_EXAMPLE}")
        if sum(s.duration_s for s in stages) <= 0:
            raise StagesError("the stages last 0 s: expected a total duration > 0")
        return cls(tuple(stages))

    @property
    def total_s(self) -> float:
        """Seconds from the start to the end of the last stage."""
        return sum(s.duration_s for s in self.stages)

    @property
    def peak(self) -> float:
        """The highest target of any stage."""
        return max(s.target for s in self.stages)

    @property
    def spec(self) -> str:
        """The stages as text that `parse_stages` reads back to equal stages."""
        return ",".join(f"{s.duration_s * 1000:.12g}ms:{s.target:.12g}" for s in self.stages)

    def scaled(self, factor: float) -> Stages:
        """Every target times `factor` (one process's share of the whole run's rate)."""
        return Stages(tuple(Stage(s.duration_s, s.target * factor) for s in self.stages))

    def _segments(self) -> list[tuple[float, float, float, float]]:
        """(start s, duration s, from target, to target) of every stage."""
        segments, start_s, previous = [], 0.0, 0.0
        for stage in self.stages:
            segments.append((start_s, stage.duration_s, previous, stage.target))
            start_s += stage.duration_s
            previous = stage.target
        return segments

    def target_at(self, t: float) -> float:
        """The target `t` seconds after the start (0 before it, the last one after the end)."""
        if t < 0:
            return 0.0
        for start_s, duration_s, low, high in self._segments():
            if duration_s > 0 and t < start_s + duration_s:
                return low + (high - low) * (t - start_s) / duration_s
        return self.stages[-1].target

    def cumulative(self, t: float) -> float:
        """The integral of the target from 0 to `t` seconds: requests due by `t` (open model)."""
        if t <= 0:
            return 0.0
        total = 0.0
        for start_s, duration_s, low, high in self._segments():
            if duration_s <= 0 or t <= start_s:
                continue
            used_s = min(t, start_s + duration_s) - start_s
            total += low * used_s + (high - low) * used_s * used_s / (2 * duration_s)
        return total + self.stages[-1].target * max(0.0, t - self.total_s)

    def mean_between(self, start_s: float, end_s: float) -> float:
        """The mean target over [start_s, end_s] (the target at `start_s` if it is empty)."""
        if end_s <= start_s:
            return self.target_at(start_s)
        return (self.cumulative(end_s) - self.cumulative(start_s)) / (end_s - start_s)

    def arrival_s(self, index: int) -> float | None:
        """When request `index` (0-based) is due, in seconds: the first t with
        cumulative(t) == index (request 0 at 0). None when the target never gets there."""
        due = float(index)
        done = 0.0
        for start_s, duration_s, low, high in self._segments():
            if duration_s <= 0:
                continue
            area = (low + high) / 2 * duration_s
            if due <= done + area and area > 0:
                rest = due - done
                if rest <= 0:
                    return start_s
                slope = (high - low) / duration_s
                # low*u + slope*u^2/2 = rest, in the form that is stable for any sign of slope
                root = math.sqrt(max(0.0, low * low + 2 * slope * rest))
                return start_s + min(duration_s, 2 * rest / (low + root))
            done += area
        last = self.stages[-1].target
        if last <= 0:
            return None
        return self.total_s + (due - done) / last

    def users_tick(self, t: float) -> tuple[int, float] | None:
        """A LoadTestShape tick at `t` s: (users, spawn rate in users/s), None after the end.

        The spawn rate is twice the largest change over the second around `t` (at least 1),
        so each one-second tick reaches its target in half a tick: Locust follows the ramp.
        """
        if t >= self.total_s:
            return None
        now = self.target_at(t)
        change = max(abs(self.target_at(t + 1.0) - now), abs(now - self.target_at(t - 1.0)))
        return math.floor(now + 0.5), max(1.0, 2.0 * change)
