"""Regression detection: one run's figures against the baseline of earlier comparable runs.

    baseline = [RunFigures.from_summary(s) for s in earlier_passing_runs]   # same scenario+target
    report = compare(RunFigures.from_stats(stats), baseline)                # a RegressionReport
    report.verdict                                                          # Regression.REGRESSED

Pure: values in, values out, no I/O, no clock; O(N log N) for N baseline runs.

The rule (docs/history.md). The baseline of each figure is the median over the baseline
runs (at least `min_runs`, else the verdict is NO_BASELINE). A figure regresses when it moved
the wrong way (latency p50/p95/p99 or error ratio up, throughput down) by more than the
largest of three bands:

- `tolerance` x baseline: the smallest change worth a page (default 10 %);
- the baseline's own noise: `noise_sigmas` x 1.4826 x MAD (the median absolute deviation,
  scaled to a standard deviation) of the baseline runs;
- measurement error: for latency quantiles 2 x the sketch's relative accuracy (1 %) of the
  larger value, as both sides carry that error; for the error ratio `noise_sigmas` binomial
  standard errors of the run's ratio, and a run with fewer than `min_errors` failed requests
  never regresses on errors.

A run with fewer than `min_requests` requests is not judged (INSUFFICIENT_DATA): its
quantiles mean little. `Regression.IMPROVED` marks a move the right way beyond the same band
(a run is IMPROVED when some figure improved and none regressed).
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadtests.stats import RunStats

__all__ = [
    "DEFAULT_RULE",
    "FigureComparison",
    "Regression",
    "RegressionReport",
    "RegressionRule",
    "RunFigures",
    "compare",
]

_MAD_TO_SIGMA = 1.4826
"""MAD x this estimates the standard deviation of normally distributed values."""


class Regression(enum.Enum):
    """The verdict for one figure or a whole run."""

    OK = "ok"
    REGRESSED = "regressed"
    IMPROVED = "improved"
    NO_BASELINE = "no baseline"
    INSUFFICIENT_DATA = "insufficient data"


@dataclass(frozen=True, slots=True)
class RunFigures:
    """The figures of one run that are compared: latency quantiles in seconds (None without
    samples), `error_ratio` failed/all requests, `rps` requests per second."""

    requests: int
    failures: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    error_ratio: float
    rps: float

    @classmethod
    def from_stats(cls, stats: RunStats) -> RunFigures:
        """A finished run's figures; quantiles come from its sketch (within 1 %)."""
        lat = stats.latency
        return cls(
            requests=stats.requests,
            failures=stats.failures,
            p50_s=_seconds(lat.p50_ms),
            p95_s=_seconds(lat.p95_ms),
            p99_s=_seconds(lat.p99_ms),
            error_ratio=stats.error_rate,
            rps=stats.rps,
        )

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> RunFigures:
        """A stored run's figures, from its JSON summary (`loadtests.report.json_summary`)."""
        latency = summary.get("latency_ms") or {}
        return cls(
            requests=int(summary["requests"]),
            failures=int(summary["failures"]),
            p50_s=_seconds(latency.get("p50")),
            p95_s=_seconds(latency.get("p95")),
            p99_s=_seconds(latency.get("p99")),
            error_ratio=float(summary["error_rate"]),
            rps=float(summary["rps"]),
        )


@dataclass(frozen=True, slots=True)
class RegressionRule:
    """The thresholds of the rule in the module doc; `tolerance` and `sketch_accuracy` are
    fractions (0.10 = 10 %)."""

    tolerance: float = 0.10
    min_runs: int = 3
    noise_sigmas: float = 3.0
    sketch_accuracy: float = 0.01
    min_requests: int = 100
    min_errors: int = 5


DEFAULT_RULE = RegressionRule()


@dataclass(frozen=True, slots=True)
class FigureComparison:
    """One figure: `baseline` (median), `current`, `band` (the change that counts, in the
    figure's unit) and `change` (current / baseline - 1; None when the baseline is 0)."""

    name: str
    baseline: float
    current: float
    band: float
    verdict: Regression

    @property
    def change(self) -> float | None:
        return self.current / self.baseline - 1.0 if self.baseline else None


@dataclass(frozen=True, slots=True)
class RegressionReport:
    """The run's verdict (REGRESSED when any figure regressed) and each figure compared."""

    verdict: Regression
    baseline_runs: int
    figures: tuple[FigureComparison, ...]

    @property
    def regressed(self) -> tuple[FigureComparison, ...]:
        return tuple(f for f in self.figures if f.verdict is Regression.REGRESSED)


def compare(
    current: RunFigures, baseline: Sequence[RunFigures], rule: RegressionRule = DEFAULT_RULE
) -> RegressionReport:
    """Compare `current` with the `baseline` runs (the caller picks comparable ones: same
    scenario and target, passing, most recent first or last: order does not matter)."""
    if len(baseline) < rule.min_runs:
        return RegressionReport(Regression.NO_BASELINE, len(baseline), ())
    if current.requests < rule.min_requests:
        return RegressionReport(Regression.INSUFFICIENT_DATA, len(baseline), ())
    figures: list[FigureComparison] = []
    for name in ("p50_s", "p95_s", "p99_s"):
        now = getattr(current, name)
        before = [v for v in (getattr(b, name) for b in baseline) if v is not None]
        if now is None or len(before) < rule.min_runs:
            continue
        base = statistics.median(before)
        measured = 2.0 * rule.sketch_accuracy * max(now, base)
        figures.append(_judge(name, base, now, _band(before, base, rule, measured), up_bad=True))
    ratios = [b.error_ratio for b in baseline]
    base = statistics.median(ratios)
    n = current.requests
    p = max(base, current.error_ratio, 1.0 / n)
    measured = rule.noise_sigmas * math.sqrt(p * (1.0 - min(p, 1.0)) / n)
    errors = _judge("error_ratio", base, current.error_ratio, _band(ratios, base, rule, measured))
    if errors.verdict is Regression.REGRESSED and current.failures < rule.min_errors:
        errors = FigureComparison(errors.name, base, errors.current, errors.band, Regression.OK)
    figures.append(errors)
    rates = [b.rps for b in baseline]
    base = statistics.median(rates)
    figures.append(_judge("rps", base, current.rps, _band(rates, base, rule, 0.0), up_bad=False))
    verdicts = {f.verdict for f in figures}
    overall = (
        Regression.REGRESSED
        if Regression.REGRESSED in verdicts
        else Regression.IMPROVED
        if Regression.IMPROVED in verdicts
        else Regression.OK
    )
    return RegressionReport(overall, len(baseline), tuple(figures))


def _band(values: Sequence[float], base: float, rule: RegressionRule, measured: float) -> float:
    mad = statistics.median(abs(v - base) for v in values)
    return max(rule.tolerance * abs(base), rule.noise_sigmas * _MAD_TO_SIGMA * mad, measured)


def _judge(
    name: str, base: float, now: float, band: float, up_bad: bool = True
) -> FigureComparison:
    worse = now - base if up_bad else base - now
    verdict = (
        Regression.REGRESSED
        if worse > band
        else Regression.IMPROVED
        if -worse > band
        else Regression.OK
    )
    return FigureComparison(name, base, now, band, verdict)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0
