"""Which windows of a run are judged as the service's, and whether enough of them are (pure).

    scope = judged_windows(stats, saturated, ramp_up_s=10.0, judge=JudgeWindow(30.0, 150.0))
    service = restrict(stats, scope.judged)     # the latency rows read this view

The rule (docs/loadtests.md, "Which windows are judged"):

- a window is **in scope** when it lies wholly inside the judge window (``--judge-window
  START:END``, seconds from the start; default the whole run);
- it is **eligible** when it is in scope and starts at or after ``--ramp-up`` (when the
  ramp-up leaves no window and no judge window was given, every window in scope is eligible,
  as the throughput row always did);
- it is **judged** when it is eligible and its load generator was not saturated.

The run can be judged when nothing was saturated, or when the judged windows are **more than
half** of the eligible ones; otherwise the verdict is invalid: "the load generator was
saturated (N of M windows); use --workers or more machines" (N saturated of M eligible).
Latency (overall and per route), the slow ratio, throughput and the windowed latency are
judged over the judged windows; the error rate over the windows in scope (a 5xx is the
service's answer whatever the generator's state). `restrict` merges the chosen windows'
sketches exactly. Costs O(windows x endpoints) sketch merges.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from collector.quantiles import QuantileSketch
from collector.units import UnitError, format_duration, parse_duration
from loadtests.stats import EndpointStats, LatencyStats, RunStats

__all__ = [
    "OUTSIDE",
    "RAMP_UP",
    "SATURATED",
    "JudgeWindow",
    "JudgedWindows",
    "judged_windows",
    "restrict",
    "rule_lost",
]

OUTSIDE = "outside the judge window"
RAMP_UP = "in the ramp-up"
SATURATED = "the load generator was saturated"
"""Why a window was not judged (`JudgedWindows.not_judged`)."""


@dataclass(frozen=True, slots=True)
class JudgeWindow:
    """The part of the run to judge, in seconds from its start; `end_s` None: to the end."""

    start_s: float = 0.0
    end_s: float | None = None

    @classmethod
    def parse(cls, text: str | None, duration_s: float | None = None) -> JudgeWindow:
        """ "30s:150s", "30s:" or ":2m" (None: the whole run); ValueError says what was
        expected. With `duration_s`, START must lie before the run's end."""
        if text is None:
            return cls()
        expected = f"expected START:END like 30s:150s (either end optional), got {text!r}"
        start_text, sep, end_text = text.partition(":")
        if not sep or not (start_text.strip() or end_text.strip()):
            raise ValueError(expected)
        try:
            start_s = parse_duration(start_text.strip()) if start_text.strip() else 0.0
            end_s = parse_duration(end_text.strip()) if end_text.strip() else None
        except UnitError:
            raise ValueError(expected) from None
        if end_s is not None and end_s <= start_s:
            raise ValueError(f"expected END after START, got {text!r}")
        if duration_s is not None and start_s >= duration_s:
            raise ValueError(f"expected START before the end of --duration, got {text!r}")
        return cls(start_s, end_s)

    @property
    def whole_run(self) -> bool:
        return self.start_s <= 0 and self.end_s is None

    @property
    def label(self) -> str:
        """ "30s-2m30s", "30s-end"."""
        end = format_duration(self.end_s) if self.end_s is not None else "end"
        return f"{format_duration(self.start_s)}-{end}"

    def holds(self, start_s: float, length_s: float) -> bool:
        """Whether the window [start_s, start_s + length_s) lies wholly inside."""
        end_ok = self.end_s is None or start_s + length_s <= self.end_s + 1e-9
        return start_s >= self.start_s - 1e-9 and end_ok


@dataclass(frozen=True, slots=True)
class JudgedWindows:
    """The judged windows (0-based indexes), the eligible ones (the rule's M), the eligible
    saturated ones (N), the windows in scope, and every window not judged with why."""

    judged: tuple[int, ...]
    eligible: tuple[int, ...]
    saturated: tuple[int, ...]
    scope: tuple[int, ...]
    not_judged: tuple[tuple[int, str], ...]
    judge: JudgeWindow = JudgeWindow()
    total: int = 0

    @property
    def enough(self) -> bool:
        """Nothing saturated, or more than half of the eligible windows are judged."""
        return not self.saturated or 2 * len(self.judged) > len(self.eligible)

    @property
    def everything(self) -> bool:
        """Every window of the run is judged: the whole-run figures apply unchanged."""
        return len(self.judged) == self.total and len(self.scope) == self.total

    @property
    def reason(self) -> str:
        """The invalid verdict's reason ("" when the run can be judged)."""
        if self.enough:
            return ""
        return (
            f"the load generator was saturated ({len(self.saturated)} of {len(self.eligible)}"
            " windows); use --workers or more machines"
        )

    @property
    def summary(self) -> str:
        """One line for the verdict: which windows were judged, and why others were not."""
        if self.everything:
            return ""
        counts: dict[str, int] = {}
        for _, why in self.not_judged:
            counts[why] = counts.get(why, 0) + 1
        why = "; ".join(f"{n} {why}" for why, n in counts.items())
        where = f" inside {self.judge.label}" if not self.judge.whole_run else ""
        return f"judged {len(self.judged)} of {self.total} windows{where} ({why})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary's ``judged``: windows 0-based."""
        return {
            "judge_window": {"start_s": self.judge.start_s, "end_s": self.judge.end_s},
            "windows": list(self.judged),
            "eligible": list(self.eligible),
            "saturated": list(self.saturated),
            "not_judged": [{"window": i, "why": why} for i, why in self.not_judged],
            "enough": self.enough,
            "reason": self.reason,
        }


def judged_windows(
    stats: RunStats,
    saturated: Collection[int],
    *,
    ramp_up_s: float = 0.0,
    judge: JudgeWindow = JudgeWindow(),
) -> JudgedWindows:
    """Apply the module's rule to a finished (or partial) run's windows."""
    scope = [w for w in stats.windows if judge.holds(w.start_s, w.length_s)]
    eligible = [w.index for w in scope if w.start_s >= ramp_up_s]
    after_ramp = bool(eligible) or not judge.whole_run
    if not after_ramp:
        eligible = [w.index for w in scope]
    bad = set(saturated)
    judged = tuple(i for i in eligible if i not in bad)
    in_scope = {w.index for w in scope}
    not_judged: list[tuple[int, str]] = []
    for window in stats.windows:
        if window.index not in in_scope:
            not_judged.append((window.index, OUTSIDE))
        elif window.index not in eligible:
            not_judged.append((window.index, RAMP_UP))
        elif window.index in bad:
            not_judged.append((window.index, SATURATED))
    return JudgedWindows(
        judged=judged,
        eligible=tuple(eligible),
        saturated=tuple(i for i in eligible if i in bad),
        scope=tuple(sorted(in_scope)),
        not_judged=tuple(not_judged),
        judge=judge,
        total=len(stats.windows),
    )


def restrict(stats: RunStats, indexes: Collection[int]) -> RunStats:
    """The run as if it were only the windows `indexes`: their counts, their latency
    sketches and each endpoint's merged exactly, their total length as the duration.
    Scenario failures and rate-limited answers stay the whole run's (windows do not count
    them); the returned stats are for judging, not for reports."""
    chosen = set(indexes)
    windows = tuple(w for w in stats.windows if w.index in chosen)
    accuracy = stats.sketch.relative_accuracy
    sketch = QuantileSketch(accuracy)
    endpoint_sketches: dict[str, QuantileSketch] = {}
    for window in windows:
        sketch.merge(window.sketch)
        for name, part in window.endpoints.items():
            endpoint_sketches.setdefault(name, QuantileSketch(accuracy)).merge(part)
    duration_s = sum(w.length_s for w in windows)
    endpoints = {
        name: EndpointStats(
            name=name,
            requests=part.count,
            failures=0,
            slow=0,
            rps=part.count / duration_s if duration_s > 0 else 0.0,
            latency=LatencyStats.of(part),
            sketch=part,
        )
        for name, part in sorted(endpoint_sketches.items())
    }
    return RunStats(
        started_at_s=stats.started_at_s,
        duration_s=duration_s,
        requests=sum(w.requests for w in windows),
        failures=sum(w.failures for w in windows),
        slow=sum(w.slow for w in windows),
        missed_starts=stats.missed_starts,
        latency=LatencyStats.of(sketch),
        latency_raw=None,
        sketch=sketch,
        endpoints=endpoints,
        windows=windows,
        window_s=stats.window_s,
        slow_s=stats.slow_s,
        unexpected=stats.unexpected,
        accepted=stats.accepted,
        rate_limited=stats.rate_limited,
        generator=stats.generator,
    )


def rule_lost(
    saturated_ended: Collection[int],
    *,
    window_s: float,
    planned_duration_s: float,
    ramp_up_s: float = 0.0,
    judge: JudgeWindow = JudgeWindow(),
) -> bool:
    """Whether the windows `saturated_ended` (0-based, ended, saturated) already make the
    run invalid however the rest goes: even if every later window is judged, the judged
    windows of the planned run could not be more than half of its eligible ones."""
    if not saturated_ended or window_s <= 0:
        return False
    count = max(1, math.ceil(planned_duration_s / window_s - 1e-9))
    spans = [
        (i, i * window_s, min(window_s, planned_duration_s - i * window_s)) for i in range(count)
    ]
    scope = [(i, start) for i, start, length in spans if judge.holds(start, length)]
    eligible = {i for i, start in scope if start >= ramp_up_s}
    if not eligible and judge.whole_run:
        eligible = {i for i, _ in scope}
    saturated = len(eligible.intersection(saturated_ended))
    return saturated > 0 and 2 * (len(eligible) - saturated) <= len(eligible)
