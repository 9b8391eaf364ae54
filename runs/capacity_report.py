"""What a capacity search reports: each probe's figures, the operating point, the sizing.

    figures = probe_figures(rate, result.stats, ok, percentile=0.95,
                            windows=result.verdict.windows)    # the hold's figures
    sizing = size(0.8 * max_rate, probes, throughput_rps=1000, concurrent_users=10_000,
                  think_s=0.6)
    text = probes_table(probes, percentile) + sizing_text(sizing)

Sizing, per instance at the recommended rate R (req/s):

- throughput: instances = ceil(target_rps / R);
- users, by Little's law: one instance holds R x (think + response) users, where `think`
  is a user's mean think time between requests and `response` the mean response time
  measured by the passing probe nearest R; instances = ceil(users / that).

Pure (no I/O, no clock). Rates in req/s, times in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from collector.quantiles import QuantileSketch
from loadtests.judged import JudgedWindows, restrict
from loadtests.stats import RunStats

__all__ = [
    "THROUGHPUT_FORMULA",
    "USERS_FORMULA",
    "ProbeFigures",
    "Sizing",
    "probe_figures",
    "probes_table",
    "size",
    "sizing_text",
    "sketch_mean_s",
]

THROUGHPUT_FORMULA = "ceil(throughput_rps / recommended_rps)"
USERS_FORMULA = (
    "ceil(concurrent_users / users_per_instance),"
    " users_per_instance = recommended_rps * (think_s + response_s)"
)


@dataclass(frozen=True, slots=True)
class ProbeFigures:
    """One probe: `rate` offered, `achieved_rps`, the SLA percentile's latency and the mean
    in seconds (None: no request answered), the SLA error ratio, whether the SLA held, and
    `note` (why the run cannot be trusted, e.g. the generator saturated; "" when it can)."""

    rate: float
    achieved_rps: float
    latency_s: float | None
    mean_s: float | None
    error_ratio: float
    ok: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Sizing:
    """How many instances the SLA's throughput and users need at `recommended_rps` each.
    A None figure was not asked for (no objective) or cannot be known (no think time)."""

    recommended_rps: float
    throughput_rps: float | None
    instances_for_throughput: int | None
    concurrent_users: int | None
    think_s: float | None
    response_s: float | None
    users_per_instance: float | None
    instances_for_users: int | None

    @property
    def instances(self) -> int | None:
        """The instances to plan for: the larger need, or None when neither is known."""
        needs = [n for n in (self.instances_for_throughput, self.instances_for_users) if n]
        return max(needs) if needs else None


def sketch_mean_s(sketch: QuantileSketch) -> float | None:
    """The mean of the values in `sketch` (within its relative accuracy), None when empty.
    O(occupied buckets)."""
    if sketch.count == 0:
        return None
    total = sum(sketch.mapping.value(key) * n for key, n in sketch.bins.items())
    return total / sketch.count


def probe_figures(
    rate: float,
    stats: RunStats,
    ok: bool,
    *,
    percentile: float,
    note: str = "",
    windows: JudgedWindows | None = None,
) -> ProbeFigures:
    """A probe's figures from its run's stats; `percentile` is the SLA's (0.95: p95).

    With the verdict's `windows`, the figures are those the gate judged: the SLA percentile
    and the mean over the judged windows (a staged probe's hold, saturated windows left
    out), the achieved rate and the error ratio over every window in scope (the hold). The
    whole run's when every window was judged or `windows` is None. O(windows x buckets)."""
    service = in_scope = stats
    if windows is not None and not windows.everything:
        service = restrict(stats, windows.judged)
        in_scope = restrict(stats, windows.scope)
    sketch = service.sketch
    latency = sketch.quantile(percentile) if sketch.count else None
    return ProbeFigures(
        rate, in_scope.rps, latency, sketch_mean_s(sketch), in_scope.error_rate, ok, note
    )


def _ceil(value: float) -> int:
    return max(1, math.ceil(value - 1e-9))


def size(
    recommended_rps: float,
    probes: Sequence[ProbeFigures],
    *,
    throughput_rps: float | None,
    concurrent_users: int | None,
    think_s: float | None,
) -> Sizing:
    """The sizing at `recommended_rps` (> 0) per instance; see the module docstring."""
    if recommended_rps <= 0:
        raise ValueError(f"recommended_rps: expected > 0, got {recommended_rps!r}")
    for_throughput = None
    if throughput_rps is not None:
        for_throughput = _ceil(throughput_rps / recommended_rps)
    timed = [p for p in probes if p.ok and p.mean_s is not None]
    nearest = min(timed, key=lambda p: (abs(p.rate - recommended_rps), p.rate), default=None)
    response_s = nearest.mean_s if nearest is not None else None
    per_instance = None
    if think_s is not None and response_s is not None:
        per_instance = recommended_rps * (think_s + response_s)
    for_users = None
    if concurrent_users is not None and per_instance is not None:
        for_users = _ceil(concurrent_users / per_instance)
    return Sizing(
        recommended_rps,
        throughput_rps,
        for_throughput,
        concurrent_users,
        think_s,
        response_s,
        per_instance,
        for_users,
    )


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.1f}"


def probes_table(probes: Sequence[ProbeFigures], percentile: float) -> str:
    """The probes by offered rate, one row each, as terminal text."""
    label = f"p{percentile * 100:g} ms"
    lines = [
        f"{'offered req/s':>14} {'achieved req/s':>15} {label:>10} {'mean ms':>9}"
        f" {'errors':>8}  SLA"
    ]
    for p in sorted(probes, key=lambda p: p.rate):
        verdict = "pass" if p.ok else "FAIL"
        note = f" ({p.note})" if p.note else ""
        lines.append(
            f"{p.rate:>14,.1f} {p.achieved_rps:>15,.1f} {_ms(p.latency_s):>10}"
            f" {_ms(p.mean_s):>9} {p.error_ratio:>8.2%}  {verdict}{note}"
        )
    return "\n".join(lines) + "\n"


def sizing_text(sizing: Sizing) -> str:
    """The sizing as terminal text, each figure with its formula's values."""
    r = sizing.recommended_rps
    lines = []
    if sizing.throughput_rps is not None and sizing.instances_for_throughput is not None:
        lines.append(
            f"sizing: throughput {sizing.throughput_rps:,.0f} req/s / {r:,.1f} req/s per"
            f" instance -> {sizing.instances_for_throughput} instances"
        )
    if sizing.concurrent_users is not None:
        if sizing.users_per_instance is None or sizing.think_s is None:
            lines.append(
                f"sizing: {sizing.concurrent_users:,} users not sized (no think time: give"
                " --think-time, or no probe passed with answers)"
            )
        else:
            response = sizing.response_s or 0.0
            lines.append(
                f"sizing: {sizing.concurrent_users:,} users; one instance holds {r:,.1f} req/s"
                f" x ({sizing.think_s:.3g} s think + {response:.3g} s response)"
                f" = {sizing.users_per_instance:,.0f} users -> {sizing.instances_for_users}"
                " instances"
            )
    if sizing.instances is not None:
        lines.append(f"sizing: plan for {sizing.instances} instances (the larger need)")
    return "".join(line + "\n" for line in lines)
