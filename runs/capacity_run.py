"""`loadwatch capacity`: drives `CapacitySearch` with real open-model load tests.

    code = run_capacity(options, budget)     # options: the loadtest flags (--rate is set here)

Each probe is one staged open-model `run_loadtest` of `probe_s` seconds
(`runs.capacity_probe`): a ramp of `ramp_s` from the highest rate that has passed so far (0
before any) to the search's rate, then a hold at that rate; the gate judges the hold only,
and a probe passes when it passes (exit 0). The probes' figures are the hold's. Between
probes the target rests `cooldown_s`. The
search stops itself before a probe would overrun `max_duration_s` (wall clock, start-up
included), so the command takes at most about that long. Prints one line per probe, then
the probes table, the answer and the sizing (`runs.capacity_report`); `json_path` gets
`max_rate`, the probes, the recommendation and the instances, `html_path` the charts
(`runs.capacity_chart`).
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from collector.exit_codes import ExitCode
from collector.sla import Objectives, SLAError, resolve_sla
from loadtests.options import LoadTestOptions
from loadtests.result import LoadTestResult
from loadtests.scenarios.common import mean_think_s
from runs.capacity import CapacityResult, CapacitySearch
from runs.capacity_chart import capacity_html
from runs.capacity_probe import ProbeShape, default_ramp_s, probe_options, probe_shape
from runs.capacity_report import (
    THROUGHPUT_FORMULA,
    USERS_FORMULA,
    ProbeFigures,
    Sizing,
    probe_figures,
    probes_table,
    size,
    sizing_text,
)

__all__ = ["CapacityBudget", "capacity_json", "run_capacity", "shape_line", "think_time_s"]

STARTUP_S = 10.0
"""Allowance per probe beyond its duration (Locust start-up, the reachability check)."""


@dataclass(frozen=True)
class CapacityBudget:
    """How to search: rates in req/s, times in seconds."""

    start_rps: float = 50.0
    max_rps: float = 100_000.0
    probe_s: float = 30.0
    """A probe's whole duration, its ramp included."""
    ramp_s: float | None = None
    """The ramp at the start of each probe (None: `default_ramp_s(probe_s)`; 0: none)."""
    cooldown_s: float = 5.0
    max_duration_s: float = 300.0
    precision: float = 0.05
    max_probes: int = 12
    headroom: float = 0.8
    think_s: float | None = None
    """A user's mean think time for the users sizing (None: the built-in scenario's)."""
    json_path: Path | None = None
    html_path: Path | None = None

    @property
    def ramp(self) -> float:
        """The ramp in seconds that each probe starts with."""
        return default_ramp_s(self.probe_s) if self.ramp_s is None else self.ramp_s


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def capacity_json(
    result: CapacityResult,
    budget: CapacityBudget,
    probes: Sequence[ProbeFigures] = (),
    sizing: Sizing | None = None,
    shapes: Sequence[ProbeShape] = (),
) -> dict[str, object]:
    """The `--json` document: the answer, every probe's shape and figures (the hold's), the
    recommendation and the instances with their formulas."""
    figures = {p.rate: p for p in probes}
    ramps = {s.rate: s for s in shapes}

    def probe(rate: float, ok: bool) -> dict[str, object]:
        entry: dict[str, object] = {"rate": rate, "passed": ok}
        if (shape := ramps.get(rate)) is not None:
            entry.update(ramp_from_rps=shape.from_rps, ramp_s=shape.ramp_s, hold_s=shape.hold_s)
        if (f := figures.get(rate)) is not None:
            entry.update(
                achieved_rps=f.achieved_rps,
                latency_ms=_ms(f.latency_s),
                mean_ms=_ms(f.mean_s),
                error_ratio=f.error_ratio,
                note=f.note,
            )
        return entry

    instances: dict[str, object] | None = None
    if sizing is not None:
        instances = {
            "throughput_rps": sizing.throughput_rps,
            "for_throughput": sizing.instances_for_throughput,
            "throughput_formula": THROUGHPUT_FORMULA,
            "concurrent_users": sizing.concurrent_users,
            "think_s": sizing.think_s,
            "response_s": sizing.response_s,
            "users_per_instance": sizing.users_per_instance,
            "for_users": sizing.instances_for_users,
            "users_formula": USERS_FORMULA,
            "instances": sizing.instances,
        }
    return {
        "max_rate": result.max_rate,
        "min_failed_rate": result.min_failed,
        "bounded": result.bounded,
        "recommended_rate": result.recommended,
        "headroom": budget.headroom,
        "probe_s": budget.probe_s,
        "ramp_s": budget.ramp,
        "hold_s": budget.probe_s - budget.ramp,
        "probes": [probe(p.rate, p.ok) for p in result.probes],
        "recommendation": {"rate": result.recommended, "headroom": budget.headroom},
        "instances": instances,
    }


def shape_line(budget: CapacityBudget) -> str:
    """What each probe is, in one line (printed first, and on the HTML page)."""
    hold_s = budget.probe_s - budget.ramp
    if budget.ramp <= 0:
        return f"each probe: {hold_s:g} s at its rate, all of it judged"
    return (
        f"each probe: a {budget.ramp:g} s ramp from the highest rate that passed (0 at first),"
        f" then a {hold_s:g} s hold; the verdicts and figures are the hold's"
    )


def think_time_s(options: LoadTestOptions, given_s: float | None) -> float | None:
    """A user's mean think time in seconds: `given_s`, else a built-in scenario's, else
    None (a locustfile's wait_time is not known outside its Locust process)."""
    if given_s is not None:
        return given_s
    return mean_think_s(options.settings) if options.resolved().built_in else None


def _objectives(options: LoadTestOptions) -> Objectives:
    try:
        sla = resolve_sla(options.sla_path)
    except SLAError:  # the first probe reports it, with exit 2
        return Objectives()
    return sla.objectives_for(options.resolved().service)


def run_capacity(
    options: LoadTestOptions,
    budget: CapacityBudget,
    *,
    probe: Callable[[LoadTestOptions], LoadTestResult] | None = None,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Search, print, write the JSON and HTML; 0 with an answer, 1 when even the first
    rate failed, 2/3 when a probe could not run (bad usage, unreachable target)."""
    out = out if out is not None else sys.stdout
    if probe is None:
        from loadtests.runner import run_loadtest

        def probe(opts: LoadTestOptions) -> LoadTestResult:
            return run_loadtest(opts, out=io.StringIO())

    search = CapacitySearch(
        budget.start_rps,
        precision=budget.precision,
        max_probes=budget.max_probes,
        max_rps=budget.max_rps,
        headroom=budget.headroom,
    )
    objectives = _objectives(options)
    percentile = objectives.display_percentile
    figures: list[ProbeFigures] = []
    shapes: list[ProbeShape] = []
    deadline = clock() + budget.max_duration_s
    print(shape_line(budget), file=out)
    first = True
    while (rate := search.next_rate()) is not None:
        wait_s = 0.0 if first else budget.cooldown_s
        if clock() + wait_s + budget.probe_s + STARTUP_S > deadline:
            print(f"capacity: time budget ({budget.max_duration_s:g} s) reached", file=out)
            break
        if wait_s:
            sleep(wait_s)
        first = False
        passed = search.result().max_rate
        shape = probe_shape(
            rate, from_rps=passed or 0.0, probe_s=budget.probe_s, ramp_s=budget.ramp
        )
        shapes.append(shape)
        result = probe(probe_options(options, shape))
        if result.code not in (ExitCode.OK, ExitCode.FAILED) or result.stats is None:
            print(
                f"capacity: the probe at {rate:g} req/s could not run (exit {result.code})",
                file=out,
            )
            return result.code
        ok = result.code == ExitCode.OK
        search.record(rate, ok)
        note = result.verdict.invalid if result.verdict is not None else ""
        windows = result.verdict.windows if result.verdict is not None else None
        probed = probe_figures(
            rate, result.stats, ok, percentile=percentile, note=note, windows=windows
        )
        figures.append(probed)
        latency = "-" if probed.latency_s is None else f"{probed.latency_s * 1000:.1f} ms"
        print(
            f"probe {rate:>10,.1f} req/s offered: {probed.achieved_rps:>10,.1f} achieved,"
            f" p{percentile * 100:g} {latency}, errors {probed.error_ratio:.2%}:"
            f" {'pass' if ok else 'FAIL'}",
            file=out,
            flush=True,
        )
    answer = search.result()
    if figures:
        out.write(probes_table(figures, percentile))
    summary: list[str] = []
    sizing = None
    if answer.max_rate is None:
        summary.append(f"capacity: even {budget.start_rps:g} req/s broke the SLA")
    else:
        assert answer.recommended is not None
        bound = "" if answer.bounded else " (no probe failed: it holds at least this)"
        summary.append(
            f"capacity: {answer.max_rate:,.1f} req/s keeps the SLA{bound}; recommended"
            f" operating point {answer.recommended:,.1f} req/s ({budget.headroom:.0%})"
        )
        sizing = size(
            answer.recommended,
            figures,
            throughput_rps=objectives.throughput_rps,
            concurrent_users=objectives.concurrent_users,
            think_s=think_time_s(options, budget.think_s),
        )
        summary += sizing_text(sizing).splitlines()
    for line in summary:
        print(line, file=out)
    if budget.json_path is not None:
        document = capacity_json(answer, budget, figures, sizing, shapes)
        budget.json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {budget.json_path}", file=out)
    if budget.html_path is not None:
        page = capacity_html(
            f"capacity of {options.host} ({Path(options.scenario).name})",
            figures,
            max_rate=answer.max_rate,
            recommended=answer.recommended,
            percentile=percentile,
            latency_limit_s=None if objectives.latency is None else objectives.latency.threshold_s,
            error_limit=objectives.error_rate,
            summary=[shape_line(budget), *summary],
        )
        budget.html_path.write_text(page)
        print(f"wrote {budget.html_path}", file=out)
    return ExitCode.OK if answer.max_rate is not None else ExitCode.FAILED
