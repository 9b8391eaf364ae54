"""`loadwatch capacity`: drives `CapacitySearch` with real open-model load tests.

    code = run_capacity(options, budget)     # options: the loadtest flags (--rate is set here)

Each probe is one `run_loadtest` at the search's rate for `probe_s` seconds; a probe
passes when the gate passes (exit 0). Between probes the target rests `cooldown_s`. The
search stops itself before a probe would overrun `max_duration_s` (wall clock, start-up
included), so the command takes at most about that long. Prints one line per probe and
the answer; `json_path` gets `max_rate`, the probes and the recommendation.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from collector.exit_codes import ExitCode
from loadtests.options import LoadTestOptions
from loadtests.result import LoadTestResult
from runs.capacity import CapacityResult, CapacitySearch

__all__ = ["CapacityBudget", "capacity_json", "run_capacity"]

STARTUP_S = 10.0
"""Allowance per probe beyond its duration (Locust start-up, the reachability check)."""


@dataclass(frozen=True)
class CapacityBudget:
    """How to search: rates in req/s, times in seconds."""

    start_rps: float = 50.0
    max_rps: float = 100_000.0
    probe_s: float = 30.0
    cooldown_s: float = 5.0
    max_duration_s: float = 300.0
    precision: float = 0.05
    max_probes: int = 12
    headroom: float = 0.8
    json_path: Path | None = None


def capacity_json(result: CapacityResult, budget: CapacityBudget) -> dict[str, object]:
    """The `--json` document."""
    return {
        "max_rate": result.max_rate,
        "min_failed_rate": result.min_failed,
        "bounded": result.bounded,
        "recommended_rate": result.recommended,
        "headroom": budget.headroom,
        "probe_s": budget.probe_s,
        "probes": [{"rate": p.rate, "passed": p.ok} for p in result.probes],
    }


def run_capacity(
    options: LoadTestOptions,
    budget: CapacityBudget,
    *,
    probe: Callable[[LoadTestOptions], LoadTestResult] | None = None,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Search, print, write JSON; 0 with an answer, 1 when even the first rate failed,
    2/3 when a probe could not run (bad usage, unreachable target)."""
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
    deadline = clock() + budget.max_duration_s
    first = True
    while (rate := search.next_rate()) is not None:
        wait_s = 0.0 if first else budget.cooldown_s
        if clock() + wait_s + budget.probe_s + STARTUP_S > deadline:
            print(f"capacity: time budget ({budget.max_duration_s:g} s) reached", file=out)
            break
        if wait_s:
            sleep(wait_s)
        first = False
        result = probe(replace(options, rate=rate, duration_s=budget.probe_s))
        if result.code not in (ExitCode.OK, ExitCode.FAILED) or result.stats is None:
            print(
                f"capacity: the probe at {rate:g} req/s could not run (exit {result.code})",
                file=out,
            )
            return result.code
        ok = result.code == ExitCode.OK
        search.record(rate, ok)
        stats = result.stats
        p95 = stats.latency.p95_ms
        print(
            f"probe {rate:>10,.1f} req/s offered: {stats.rps:>10,.1f} achieved,"
            f" p95 {'-' if p95 is None else f'{p95:.1f} ms'},"
            f" errors {stats.error_rate:.2%}: {'pass' if ok else 'FAIL'}",
            file=out,
            flush=True,
        )
    answer = search.result()
    if answer.max_rate is None:
        print(f"capacity: even {budget.start_rps:g} req/s broke the SLA", file=out)
    else:
        bound = "" if answer.bounded else " (no probe failed: it holds at least this)"
        print(
            f"capacity: {answer.max_rate:,.1f} req/s keeps the SLA{bound}; recommended"
            f" operating point {answer.recommended:,.1f} req/s ({budget.headroom:.0%})",
            file=out,
        )
    if budget.json_path is not None:
        document = capacity_json(answer, budget)
        budget.json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {budget.json_path}", file=out)
    return ExitCode.OK if answer.max_rate is not None else ExitCode.FAILED
