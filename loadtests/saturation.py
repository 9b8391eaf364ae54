"""Whether the load generator kept up: its own samples in, a judgement out (pure, no I/O).

Every load-generating Locust process (local, or each worker) samples itself once a second:
its CPU share over that second (100 = one core busy) and its event-loop lag (how late each
of that second's ~10 back-to-back 100 ms gevent timers fired, in seconds). `GeneratorLoad`
keeps those samples per (process, window) and the open model's missed starts per window; it
travels with the run recorder and merges exactly across workers.

`window_loads(load)` summarises each (process, window) as a `WindowLoad`; `judge(loads)` says
which windows were saturated. A window is saturated when, for any process in it:

- the mean CPU share over the window's samples is over CPU_LIMIT_PERCENT (90 % of a core:
  a gevent process uses one core at most, and above 90 % its timers and sockets wait), or
- the p95 of its timer lags in the window (~100 per 10 s window, nearest rank) is over
  LAG_LIMIT_S (50 ms). More than 5 % of timers late by 50 ms means more than 5 % of the
  requests may carry 50 ms of the generator's own delay: the SLA's p95 would measure the
  generator (a quarter of a 200 ms objective). A single stall (the machine descheduled the
  process once) delays one timer and does not count; a busy loop delays them all.
- the open model missed a start in it.

Latency measured in such a window is the generator's, not the service's. Costs O(samples).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CPU_LIMIT_PERCENT",
    "LAG_LIMIT_S",
    "LAG_PROBE_S",
    "GeneratorLoad",
    "GeneratorSample",
    "Saturation",
    "WindowLoad",
    "judge",
    "live_figures",
    "window_loads",
    "window_ranges",
    "worst_of",
]

CPU_LIMIT_PERCENT = 90.0
"""A window whose mean CPU share is above this (percent of one core) is saturated."""
LAG_LIMIT_S = 0.05
"""A window whose p95 event-loop lag is above this many seconds is saturated."""
LAG_PERCENTILE = 0.95
"""The percentile of a window's timer lags compared with LAG_LIMIT_S."""
LAG_PROBE_S = 0.1
"""The gevent timer (seconds) whose lateness is the loop lag."""


@dataclass(frozen=True, slots=True)
class GeneratorSample:
    """One second of one process: `cpu_percent` (100 = a core), `lags_s` (each timer's
    delay in seconds, ~10)."""

    process: str
    at_s: float
    cpu_percent: float
    lags_s: tuple[float, ...]

    @property
    def lag_s(self) -> float:
        """The worst timer delay of the second (0 without timers)."""
        return max(self.lags_s, default=0.0)


class GeneratorLoad:
    """Samples of every generator process, by window; mergeable, JSON-safe. Not thread-safe."""

    def __init__(self) -> None:
        self.cpu: dict[str, dict[int, list[float]]] = {}
        self.lags: dict[str, dict[int, list[float]]] = {}
        self.missed: dict[int, int] = {}
        self.latest: dict[str, GeneratorSample] = {}

    def add(self, sample: GeneratorSample, window: int) -> None:
        """Record `sample` in window number `window` (0-based)."""
        self.cpu.setdefault(sample.process, {}).setdefault(window, []).append(sample.cpu_percent)
        self.lags.setdefault(sample.process, {}).setdefault(window, []).extend(sample.lags_s)
        last = self.latest.get(sample.process)
        if last is None or sample.at_s >= last.at_s:
            self.latest[sample.process] = sample

    def add_missed(self, window: int, count: int) -> None:
        """`count` open-model starts missed in window `window`."""
        self.missed[window] = self.missed.get(window, 0) + count

    def merge(self, other: GeneratorLoad, shift: int = 0) -> None:
        """Add another recorder's load; its window i becomes window max(0, i + shift)."""
        for mine_all, theirs_all in ((self.cpu, other.cpu), (self.lags, other.lags)):
            for process, by_window in theirs_all.items():
                mine = mine_all.setdefault(process, {})
                for index, values in by_window.items():
                    mine.setdefault(max(0, index + shift), []).extend(values)
        for index, count in other.missed.items():
            self.add_missed(max(0, index + shift), count)
        for process, sample in other.latest.items():
            last = self.latest.get(process)
            if last is None or sample.at_s >= last.at_s:
                self.latest[process] = sample

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": _by_window_to_dict(self.cpu),
            "lags": _by_window_to_dict(self.lags),
            "missed": {str(i): n for i, n in self.missed.items()},
            "latest": [
                [s.process, s.at_s, s.cpu_percent, list(s.lags_s)] for s in self.latest.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GeneratorLoad:
        """Inverse of `to_dict`; KeyError/ValueError/TypeError on a malformed payload."""
        load = cls()
        load.cpu = _by_window_from_dict(data["cpu"])
        load.lags = _by_window_from_dict(data["lags"])
        load.missed = {int(i): int(n) for i, n in data["missed"].items()}
        for process, at_s, cpu, lags in data["latest"]:
            lags_s = tuple(float(lag) for lag in lags)
            sample = GeneratorSample(str(process), float(at_s), float(cpu), lags_s)
            load.latest[sample.process] = sample
        return load


def _by_window_to_dict(values: Mapping[str, Mapping[int, list[float]]]) -> dict[str, Any]:
    return {p: {str(i): list(v) for i, v in w.items()} for p, w in values.items()}


def _by_window_from_dict(data: Mapping[str, Any]) -> dict[str, dict[int, list[float]]]:
    return {str(p): {int(i): [float(x) for x in v] for i, v in w.items()} for p, w in data.items()}


@dataclass(frozen=True, slots=True)
class WindowLoad:
    """One process in one window: mean CPU share (%), p95 and worst timer lag (s), seconds
    sampled.

    `process` is "" for the row that only carries the window's missed starts."""

    index: int
    process: str
    samples: int
    cpu_percent: float
    lag_p95_s: float
    lag_max_s: float
    missed_starts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's form: CPU % to 0.1, lags in ms to 0.001."""
        return {
            "cpu_percent": round(self.cpu_percent, 1),
            "lag_p95_ms": round(self.lag_p95_s * 1000.0, 3),
            "lag_max_ms": round(self.lag_max_s * 1000.0, 3),
            "samples": self.samples,
            "missed_starts": self.missed_starts,
            "saturated": self.saturated,
        }

    @property
    def saturated(self) -> bool:
        return (
            self.cpu_percent > CPU_LIMIT_PERCENT
            or self.lag_p95_s > LAG_LIMIT_S
            or self.missed_starts > 0
        )


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile `q` (0-1) of `values`; 0 without values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0


def window_loads(load: GeneratorLoad) -> tuple[WindowLoad, ...]:
    """Every (process, window) summarised, by window then process; missed starts are put on
    the window's first process (or a process "" when no process sampled that window)."""
    rows: list[WindowLoad] = []
    for process, by_window in load.cpu.items():
        for index, cpu in by_window.items():
            lags = load.lags.get(process, {}).get(index, [])
            p95 = _percentile(lags, LAG_PERCENTILE)
            mean = sum(cpu) / len(cpu)
            rows.append(WindowLoad(index, process, len(cpu), mean, p95, max(lags, default=0.0)))
    rows.sort(key=lambda r: (r.index, r.process))
    result: list[WindowLoad] = []
    pending = dict(load.missed)
    for row in rows:
        missed = pending.pop(row.index, 0)
        result.append(row if not missed else _with_missed(row, missed))
    for index, missed in pending.items():
        result.append(WindowLoad(index, "", 0, 0.0, 0.0, 0.0, missed))
    result.sort(key=lambda r: (r.index, r.process))
    return tuple(result)


def worst_of(rows: Sequence[WindowLoad]) -> WindowLoad | None:
    """One row with the worst of each figure among `rows` (the first row's window; process
    "" when several), or None when `rows` is empty."""
    if not rows:
        return None
    return WindowLoad(
        index=rows[0].index,
        process=rows[0].process if len(rows) == 1 else "",
        samples=sum(r.samples for r in rows),
        cpu_percent=max(r.cpu_percent for r in rows),
        lag_p95_s=max(r.lag_p95_s for r in rows),
        lag_max_s=max(r.lag_max_s for r in rows),
        missed_starts=sum(r.missed_starts for r in rows),
    )


def _with_missed(row: WindowLoad, missed: int) -> WindowLoad:
    return WindowLoad(
        row.index, row.process, row.samples, row.cpu_percent, row.lag_p95_s, row.lag_max_s, missed
    )


@dataclass(frozen=True, slots=True)
class Saturation:
    """The judgement: saturated window indexes (0-based, sorted), out of `judged` windows
    (the first up to the last one with samples), the worst figures among the saturated, and
    the reason in words ("" if none)."""

    windows: tuple[int, ...]
    judged: int
    cpu_percent: float
    lag_p95_s: float
    missed_starts: int
    reason: str

    @property
    def saturated(self) -> bool:
        return bool(self.windows)

    @property
    def short(self) -> str:
        """ "the load generator was saturated in windows 2-4 of 6" ("" if it was not)."""
        if not self.windows:
            return ""
        plural = "s" if len(self.windows) > 1 else ""
        where = f"window{plural} {window_ranges(self.windows)} of {self.judged}"
        return f"the load generator was saturated in {where}"


def judge(loads: Iterable[WindowLoad]) -> Saturation:
    """Which windows had a saturated generator process (see the module docstring), and why.

    Only a generator that sampled itself is judged: without any sample (a recorder from
    before sampling existed, or built by hand) nothing is saturated, missed starts included
    (the gate judges those on their own). The reason reads:
    "the load generator was saturated: CPU 97 % of a core, loop lag p95 180 ms in windows
    2-4 of 6; its latency figures measure itself" (windows numbered from 1)."""
    rows = list(loads)
    if not any(r.samples for r in rows):
        return Saturation((), 0, 0.0, 0.0, 0, "")
    judged = max((r.index for r in rows), default=-1) + 1
    bad = [r for r in rows if r.saturated]
    windows = tuple(sorted({r.index for r in bad}))
    if not bad:
        return Saturation((), judged, 0.0, 0.0, 0, "")
    cpu = max(r.cpu_percent for r in bad)
    lag = max(r.lag_p95_s for r in bad)
    missed = sum(r.missed_starts for r in bad)
    figures = [f"CPU {cpu:.0f} % of a core", f"loop lag p95 {lag * 1000.0:.0f} ms"]
    if missed:
        figures.append(f"{missed:,} starts missed")
    plural = "s" if len(windows) > 1 else ""
    reason = (
        f"the load generator was saturated: {', '.join(figures)} in window{plural} "
        f"{window_ranges(windows)} of {judged}; its latency figures measure itself"
    )
    return Saturation(windows, judged, cpu, lag, missed, reason)


def window_ranges(indexes: Sequence[int]) -> str:
    """0-based indexes as 1-based ranges: (1, 2, 3, 5) -> "2-4, 6"."""
    parts: list[str] = []
    start = prev = indexes[0]
    for index in [*indexes[1:], None]:
        if index is not None and index == prev + 1:
            prev = index
            continue
        parts.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
        if index is not None:
            start = prev = index
    return ", ".join(parts)


def live_figures(latest: Iterable[GeneratorSample]) -> dict[str, Any] | None:
    """The worst of each process's latest second, for the progress line and the live
    snapshot: {"processes", "cpu_percent", "loop_lag_ms", "saturated"}; None without samples.
    `saturated` applies the window thresholds to that one second."""
    samples = list(latest)
    if not samples:
        return None
    cpu = max(s.cpu_percent for s in samples)
    lag_s = max(s.lag_s for s in samples)
    return {
        "processes": len(samples),
        "cpu_percent": round(cpu, 1),
        "loop_lag_ms": round(lag_s * 1000.0, 1),
        "saturated": cpu > CPU_LIMIT_PERCENT or lag_s > LAG_LIMIT_S,
    }
