"""A run's JSON summary (pure: values in, dict out).

`json_summary(info, stats, verdict)` is what `--json` writes and the history stores: JSON-safe
(None instead of NaN), latencies in ms rounded to 3 places, ratios to 6; `failures` counts SLA
errors, `scenario_failures` the answers the scenario did not expect, and
`failures_by_reason` ([{route, reason, count, outcome}]) adds up to both together;
`generator` is the load generator's own load (per window and per process) and whether it was
saturated, `invalid` why the run cannot be trusted ("" when it can), `judged` which windows
were judged as the service's and why the others were not (`loadtests.judged`).
"""

from __future__ import annotations

import math
from typing import Any

from loadtests.gate import Verdict
from loadtests.run_info import RunInfo
from loadtests.saturation import CPU_LIMIT_PERCENT, LAG_LIMIT_S, worst_of
from loadtests.stats import LatencyStats, RunStats

__all__ = ["json_summary"]


def json_summary(info: RunInfo, stats: RunStats, verdict: Verdict) -> dict[str, Any]:
    """The run as a JSON-safe dict (`json.dumps(..., allow_nan=False)` works on it)."""
    server = None
    if info.server is not None:
        server = {
            k: v if isinstance(v, bool) else _num(v, 3 if k.endswith("_ms") else 6)
            for k, v in info.server.items()
        }
    return {
        "scenario": info.scenario,
        "host": info.host,
        "started_at": info.started_at,
        "duration_s": _num(stats.duration_s, 3),
        "model": info.model,
        "users": info.users,
        "spawn_rate": _num(info.spawn_rate, 3),
        "target_rate": _num(info.target_rate, 3),
        "stages": info.stages,
        "workers": info.workers,
        "workers_auto": dict(info.workers_auto) if info.workers_auto is not None else None,
        "requests": stats.requests,
        "failures": stats.failures,
        "scenario_failures": stats.unexpected,
        "accepted": stats.accepted,
        "rate_limited": stats.rate_limited,
        "rps": _num(stats.rps, 3),
        "error_rate": _num(stats.error_rate, 6),
        "slow": stats.slow,
        "slow_ratio": _num(stats.slow_ratio, 6),
        "latency_ms": _latency_ms(stats.latency),
        "latency_raw_ms": _latency_ms(stats.latency_raw) if stats.latency_raw else None,
        "missed_starts": stats.missed_starts,
        "failures_by_reason": [r.to_dict() for r in stats.failures_by_reason()],
        "accepted_by_reason": [r.to_dict() for r in stats.accepted_by_reason()],
        "endpoints": {
            name: {
                "requests": e.requests,
                "failures": e.failures,
                "scenario_failures": e.unexpected,
                "accepted": e.accepted,
                "rate_limited": e.rate_limited,
                "rps": _num(e.rps, 3),
                "error_rate": _num(e.error_rate, 6),
                "slow": e.slow,
                "latency_ms": _latency_ms(e.latency),
            }
            for name, e in stats.endpoints.items()
        },
        "windows": [
            {
                "start_s": _num(w.start_s, 3),
                "requests": w.requests,
                "failures": w.failures,
                "rps": _num(w.rps, 3),
                "users": w.users,
                "target": _num(w.target, 3),
                "p95_ms": _num(w.latency.p95_ms, 3),
                "generator": _window_generator(stats, w.index, verdict),
            }
            for w in stats.windows
        ],
        "generator": _generator(stats, verdict),
        "thresholds": [t.to_dict() for t in verdict.thresholds],
        "passed": verdict.passed,
        "invalid": verdict.invalid,
        "judged": verdict.windows.to_dict() if verdict.windows is not None else None,
        "server": server,
        "sla": info.sla_source,
    }


def _window_generator(stats: RunStats, index: int, verdict: Verdict) -> dict[str, Any] | None:
    """The worst generator process in window `index`, and whether the service was judged."""
    worst = worst_of([r for r in stats.generator if r.index == index])
    if worst is None:
        return None
    return {**worst.to_dict(), "service_judged": verdict.judged_window(index)}


def _generator(stats: RunStats, verdict: Verdict) -> dict[str, Any] | None:
    """Thresholds, saturated windows (0-based), and every process's windows."""
    if not any(r.samples for r in stats.generator):
        return None
    processes: dict[str, list[dict[str, Any]]] = {}
    for row in stats.generator:
        entry = {"window": row.index, **row.to_dict()}
        processes.setdefault(row.process or "(missed starts)", []).append(entry)
    return {
        "cpu_limit_percent": CPU_LIMIT_PERCENT,
        "lag_limit_ms": LAG_LIMIT_S * 1000.0,
        "saturated": bool(verdict.saturated_windows),
        "saturated_windows": list(verdict.saturated_windows),
        "reason": verdict.invalid,
        "processes": processes,
    }


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _latency_ms(latency: LatencyStats) -> dict[str, float | None]:
    return {key: _num(value, 3) for key, value in latency.to_dict().items()}
