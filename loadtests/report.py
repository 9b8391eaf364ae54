"""Run reports: the JSON summary and a self-contained HTML page (pure: values in, str/dict out).

`json_summary(info, stats, verdict)` is what `--json` writes and the history stores: JSON-safe
(None instead of NaN), latencies in ms rounded to 3 places, ratios to 6; `failures` counts SLA
errors, `scenario_failures` the answers the scenario did not expect, and
`failures_by_reason` ([{route, reason, count, outcome}]) adds up to both together;
`generator` is the load generator's own load (per window and per process) and whether it was
saturated, `invalid` why the run cannot be trusted ("" when it can), `judged` which windows
were judged as the service's and why the others were not (`loadtests.judged`).
`html_report(...)` is one HTML file with inline CSS and inline SVG charts drawn here: no
JavaScript and no external URL, so it opens offline and can be attached to a CI run. Every
user-controlled string (scenario, host, route names, SLA source) is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadtests.breakdown import outcome_label
from loadtests.gate import Metric, ThresholdResult, Verdict, format_value
from loadtests.saturation import CPU_LIMIT_PERCENT, LAG_LIMIT_S, WindowLoad, worst_of
from loadtests.stats import EndpointStats, LatencyStats, Outcome, RunStats, WindowStats

__all__ = ["RunInfo", "html_report", "json_summary"]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What the stats do not know about a run.

    `started_at` is ISO 8601 UTC; `model` is "closed" or "open"; `users` and `spawn_rate`
    (users/s) describe a closed model, `target_rate` (req/s) an open one; `server` holds
    optional server-side figures from Prometheus (`p95_ms`, `p50_ms`, `error_rate`,
    `requests`, the client's `network_ms` and `p95_agrees`: whether the client's p95 agrees
    with the server's within 2 % plus that network time); `workers_auto` what ``--workers
    auto`` chose and why (`loadtests.worker_count`), None when a count was given; `stages`
    the --stages load shape (then `users` or `target_rate` is its peak).
    """

    scenario: str
    host: str
    started_at: str
    model: str
    users: int | None
    spawn_rate: float | None
    target_rate: float | None
    workers: int
    sla_source: str
    server: Mapping[str, float | bool | None] | None = None
    workers_auto: Mapping[str, Any] | None = None
    stages: str | None = None


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


def html_report(info: RunInfo, stats: RunStats, verdict: Verdict) -> str:
    """One self-contained HTML page: facts, verdict, four time charts, histogram, routes."""
    end_s = max([stats.duration_s, *(w.start_s + w.length_s for w in stats.windows)])
    latency = next((r for r in verdict.thresholds if r.metric is Metric.LATENCY), None)
    p95_limit = latency.limit if latency and latency.name.startswith("latency p95 ") else None

    def series(value: Callable[[WindowStats], float | None]) -> list[tuple[float, float | None]]:
        return [(w.start_s + w.length_s / 2, value(w)) for w in stats.windows]

    target = series(lambda w: w.target) if any(w.target is not None for w in stats.windows) else ()
    charts = [
        _line_chart(
            "Requests per second",
            "req/s",
            series(lambda w: w.rps),
            end_s,
            target=target if info.model == "open" else (),
        ),
        _line_chart(
            "p95 latency", "ms", series(lambda w: w.latency.p95_ms), end_s, threshold=p95_limit
        ),
        _line_chart(
            "Errors per second",
            "errors/s",
            series(lambda w: w.failures / w.length_s),
            end_s,
            color="#cf222e",
        ),
        _line_chart(
            "Users",
            "users",
            series(lambda w: w.users),
            end_s,
            color="#8250df",
            target=target if info.model == "closed" else (),
        ),
    ]
    if any(r.samples for r in stats.generator):
        worst = {
            w.index: worst_of([r for r in stats.generator if r.index == w.index])
            for w in stats.windows
        }

        def load(value: Callable[[WindowLoad], float]) -> Callable[[WindowStats], float | None]:
            return lambda w: value(row) if (row := worst.get(w.index)) is not None else None

        charts += [
            _line_chart(
                "Generator CPU (worst process)",
                "% of a core",
                series(load(lambda r: r.cpu_percent)),
                end_s,
                threshold=CPU_LIMIT_PERCENT,
                color="#9a6700",
            ),
            _line_chart(
                "Generator loop lag p95 (worst process)",
                "ms",
                series(load(lambda r: r.lag_p95_s * 1000.0)),
                end_s,
                threshold=LAG_LIMIT_S * 1000.0,
                color="#9a6700",
            ),
        ]
    note = ""
    if verdict.invalid:
        numbers = ", ".join(str(i + 1) for i in verdict.saturated_windows)
        note = (
            f'<p class="invalid">The run is invalid: {_e(verdict.invalid)}. The service was not'
            f" judged in windows {_e(numbers)}.</p>"
        )
    note += _judged_note(verdict)
    verdict_word = "PASS" if verdict.passed else "FAIL"
    return _PAGE.format(
        title=_e(f"loadwatch: {info.scenario} - {verdict_word}"),
        scenario=_e(info.scenario),
        verdict_class="pass" if verdict.passed else "fail",
        verdict=verdict_word,
        facts=_facts(info, stats),
        thresholds="".join(_threshold_row(r) for r in verdict.thresholds),
        invalid=note,
        charts="".join(f'<figure class="card">{c}</figure>' for c in charts),
        histogram=_histogram(stats, latency),
        routes="".join(_route_row(name, e) for name, e in stats.endpoints.items()),
        reasons=_reasons_table(stats),
        css=_CSS,
    )


def _judged_note(verdict: Verdict) -> str:
    """Which windows were judged, and why each other one was not ("" when all were)."""
    windows = verdict.windows
    if windows is None or not windows.summary:
        return ""
    others = ", ".join(f"{i + 1} ({why})" for i, why in windows.not_judged)
    return (
        f'<p class="judged">{_e(windows.summary[0].upper() + windows.summary[1:])}.'
        f" Windows not judged: {_e(others)}.</p>"
    )


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _latency_ms(latency: LatencyStats) -> dict[str, float | None]:
    return {key: _num(value, 3) for key, value in latency.to_dict().items()}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _facts(info: RunInfo, stats: RunStats) -> str:
    load = (
        f"stages {info.stages} (peak {info.users} users)"
        if info.model == "closed" and info.stages
        else f"stages {info.stages} (peak {info.target_rate:g} req/s)"
        if info.stages and info.target_rate is not None
        else f"{info.users} users, spawn {info.spawn_rate:g}/s"
        if info.model == "closed" and info.users is not None and info.spawn_rate is not None
        else f"{info.target_rate:g} req/s offered"
        if info.target_rate is not None
        else "-"
    )
    lat = stats.latency
    rows = [
        ("Target", info.host),
        ("Started (UTC)", info.started_at),
        ("Duration", f"{stats.duration_s:,.1f} s"),
        ("Model", f"{info.model}: {load}, {info.workers} worker(s)"),
        (
            "Requests",
            f"{stats.requests:,} ({stats.failures:,} SLA errors, {stats.unexpected:,} scenario"
            f" failures, {stats.rate_limited:,} rate-limited, {stats.slow:,} slow)",
        ),
        ("Throughput", f"{stats.rps:,.1f} req/s"),
        ("Error rate", f"{stats.error_rate * 100:.2f}%"),
        (
            "Latency p50 / p95 / p99 / max",
            " / ".join(
                format_value(v, "ms") for v in (lat.p50_ms, lat.p95_ms, lat.p99_ms, lat.max_ms)
            ),
        ),
    ]
    if stats.latency_raw is not None:
        raw = stats.latency_raw
        rows.append(
            (
                "Raw latency p95 / p99 (from send)",
                f"{format_value(raw.p95_ms, 'ms')} / {format_value(raw.p99_ms, 'ms')}",
            )
        )
    if info.model == "open":
        rows.append(("Missed starts", f"{stats.missed_starts:,}"))
    worst = worst_of([r for r in stats.generator if r.samples])
    if worst is not None:
        saturated = len({r.index for r in stats.generator if r.saturated})
        state = f"saturated in {saturated:,} window(s)" if saturated else "kept up"
        rows.append(
            (
                "Load generator (worst window)",
                f"CPU {worst.cpu_percent:.0f}% of a core, loop lag p95"
                f" {worst.lag_p95_s * 1000.0:.1f} ms: {state}",
            )
        )
    for key, value in (info.server or {}).items():
        shown = (
            "-"
            if value is None
            else ("yes" if value else "no")
            if isinstance(value, bool)
            else f"{value:g}"
        )
        rows.append((f"Server {key}", shown))
    rows.append(("SLA", info.sla_source))
    return "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)


def _threshold_row(r: ThresholdResult) -> str:
    status, cls = ("n/a", "na") if r.ok is None else ("PASS", "pass") if r.ok else ("FAIL", "fail")
    return (
        f'<tr class="{cls}"><td><span class="badge {cls}">{status}</span></td>'
        f"<td>{_e(r.name)}</td><td class=num>{_e(format_value(r.observed, r.unit))}</td>"
        f"<td class=num>{_e(format_value(r.limit, r.unit))}</td><td>{_e(r.detail)}</td></tr>"
    )


def _route_row(name: str, e: EndpointStats) -> str:
    lat = e.latency
    cells = [f"{e.requests:,}", f"{e.failures:,}", f"{e.error_rate * 100:.2f}%"]
    cells += [f"{e.unexpected:,}", f"{e.rps:,.1f}"]
    cells += [format_value(v, "ms") for v in (lat.p50_ms, lat.p95_ms, lat.p99_ms, lat.max_ms)]
    return (
        f"<tr><td><code>{_e(name)}</code></td>"
        + "".join(f"<td class=num>{_e(c)}</td>" for c in cells)
        + "</tr>"
    )


def _reasons_table(stats: RunStats) -> str:
    """Failures by (route, reason), then the answers accepted on purpose; share of each kind."""
    failures = stats.failures_by_reason()
    accepted = stats.accepted_by_reason()
    if not failures and not accepted:
        return "<p>Every request was served as the scenario expected.</p>"
    total_failed = stats.failures + stats.unexpected
    rows = []
    for r in (*failures, *accepted):
        total = total_failed if r.outcome is not Outcome.ACCEPTED else stats.accepted
        rows.append(
            f'<tr class="{r.outcome.value}"><td>{_e(outcome_label(r.outcome))}</td>'
            f"<td><code>{_e(r.route)}</code></td><td>{_e(r.reason)}</td>"
            f"<td class=num>{r.count:,}</td><td class=num>{r.count / total:.1%}</td></tr>"
        )
    return (
        '<table class="reasons"><thead><tr><th>Kind</th><th>Endpoint</th><th>Reason</th>'
        "<th class=num>Count</th><th class=num>Share</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


_H, _L, _R, _T, _B = 210, 58, 14, 30, 34  # chart height and margins (px)
_W, _WIDE = 520, 1040  # widths of a time chart and of the histogram (px)
_PLOT_H = _H - _T - _B


def _nice(top: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above `top` (> 0)."""
    if top <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(top))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= top * (1 - 1e-12))


def _steps(top: float, about: int) -> tuple[float, int]:
    """A round step and the number of steps covering 0..top in about `about` steps."""
    step = _nice(top / about) if top > 0 else 1.0
    return step, max(1, math.ceil(top / step - 1e-9))


def _tick(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _frame(
    title: str, unit: str, width: int, y_max: float, x_ticks: Sequence[tuple[float, str]]
) -> tuple[str, float]:
    """Opening <svg>, title, y grid from 0 to a round top >= y_max, x labels at 0..1 fractions.

    Returns the markup (without </svg>) and the y value of the plot's top edge.
    """
    step, count = _steps(y_max, 4)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {_H}" role="img" aria-label="{_e(title)}">',
        f'<text x="{_L}" y="18" class="title">{_e(title)} <tspan class="unit">({_e(unit)})'
        "</tspan></text>",
    ]
    for i in range(count + 1):
        y = _T + _PLOT_H * (1 - i / count)
        parts.append(
            f'<line x1="{_L}" x2="{width - _R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_L - 6}" y="{y + 4:.1f}" class="ytick">{_tick(step * i)}</text>'
        )
    for fraction, label in x_ticks:
        x = _L + (width - _L - _R) * fraction
        parts.append(f'<text x="{x:.1f}" y="{_H - _B + 16}" class="xtick">{_e(label)}</text>')
    return "".join(parts), step * count


def _line_chart(
    title: str,
    unit: str,
    series: Sequence[tuple[float, float | None]],
    end_s: float,
    *,
    threshold: float | None = None,
    color: str = "#0969da",
    target: Sequence[tuple[float, float | None]] = (),
) -> str:
    """A time series of (seconds since start, value) up to `end_s`; None breaks the line.
    A load shape's `target` series is drawn dashed behind it, labelled "target"."""
    known = [y for _, y in [*series, *target] if y is not None]
    end_s = max(end_s, 1e-9)
    step, count = _steps(end_s, 6)
    ticks = [(k * step / end_s, f"{k * step:g}s") for k in range(count + 1) if k * step <= end_s]
    frame, y_top = _frame(title, unit, _W, max([*known, threshold or 0.0]) * 1.05, ticks)
    parts = [frame]
    if any(y is not None for _, y in target):
        parts += _polylines(target, end_s, y_top, "#57606a", "target")
        parts.append(f'<text x="{_W - _R}" y="18" class="targetlabel">- - target</text>')
    parts += _polylines(series, end_s, y_top, color, "line")
    if threshold is not None:
        y = _T + _PLOT_H * (1 - threshold / y_top)
        parts.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" class="limit"/>'
            f'<text x="{_W - _R}" y="{y - 4:.1f}" class="limitlabel">SLA {_tick(threshold)} '
            f"{_e(unit)}</text>"
        )
    if not known:
        parts.append(f'<text x="{_W / 2}" y="{_H / 2}" class="empty">no data</text>')
    return "".join(parts) + "</svg>"


def _polylines(
    series: Sequence[tuple[float, float | None]], end_s: float, y_top: float, color: str, css: str
) -> list[str]:
    """SVG polylines (a dot for a lone point) of (seconds, value) pairs; None breaks them."""
    parts, plot_w = [], _W - _L - _R
    segment: list[tuple[float, float]] = []
    for x_s, y in [*series, (0.0, None)]:
        if y is not None:
            segment.append((_L + plot_w * x_s / end_s, _T + _PLOT_H * (1 - y / y_top)))
        elif len(segment) == 1:
            parts.append(
                f'<circle cx="{segment[0][0]:.1f}" cy="{segment[0][1]:.1f}" r="2.5" '
                f'fill="{color}"/>'
            )
        elif segment:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            parts.append(f'<polyline points="{points}" stroke="{color}" class="{css}"/>')
        if y is None:
            segment = []
    return parts


def _histogram(stats: RunStats, latency: ThresholdResult | None) -> str:
    """Request counts in log-scale buckets, 10 per decade of ms, from the overall sketch."""
    sketch = stats.sketch
    counts: dict[int, int] = {}
    for key, count in sketch.bins.items():
        tenth = math.floor(math.log10(sketch.mapping.value(key) * 1000.0) * 10)
        counts[tenth] = counts.get(tenth, 0) + count
    title = "Latency histogram"
    if not counts:
        frame = _frame(title, "requests", _WIDE, 1.0, [])[0]
        return frame + f'<text x="{_WIDE / 2}" y="{_H / 2}" class="empty">no data</text></svg>'
    low, high = min(counts) - 1, max(counts) + 2
    span = high - low
    ticks = [
        ((10 * math.log10(m * 10.0**k) - low) / span, _ms_label(m * 10.0**k))
        for k in range(math.floor(low / 10), math.ceil(high / 10) + 1)
        for m in ((1,) if span > 20 else (1, 2, 5))
        if low <= 10 * math.log10(m * 10.0**k) <= high
    ]
    frame, y_top = _frame(title, "requests", _WIDE, max(counts.values()) * 1.05, ticks)
    parts = [frame]
    bar_w = (_WIDE - _L - _R) / span
    for tenth, count in sorted(counts.items()):
        h = _PLOT_H * count / y_top
        x = _L + (tenth - low) * bar_w
        parts.append(
            f'<rect x="{x + 0.5:.1f}" y="{_T + _PLOT_H - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{h:.1f}" class="bar"><title>{_ms_label(10 ** (tenth / 10))}: '
            f"{count:,}</title></rect>"
        )
    if latency is not None and latency.limit > 0:
        x = _L + (10 * math.log10(latency.limit) - low) * bar_w
        if _L <= x <= _WIDE - _R:
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{_T + _PLOT_H}" class="limit"/>'
                f'<text x="{x + 4:.1f}" y="{_T + 12}" class="limitlabel start">'
                f"{_e(latency.name)}</text>"
            )
    if sketch.zero_count:
        parts.append(
            f'<text x="{_WIDE - _R}" y="{_T - 6}" class="ytick">+{sketch.zero_count:,} at 0 ms'
            "</text>"
        )
    return "".join(parts) + "</svg>"


def _ms_label(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:.3g} ms"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
background:#f6f8fa;margin:0;padding:24px}
main{max-width:1100px;margin:0 auto}
.invalid{background:#fff8c5;border:1px solid #d4a72c;border-radius:8px;padding:8px 12px}
.judged{color:#57606a;margin:6px 0}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px;margin:0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:6px 10px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;font-weight:600}
.facts th{width:260px;color:#57606a;font-weight:500}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;min-width:40px;text-align:center;padding:1px 8px;border-radius:12px;
font-weight:700;font-size:12px;color:#fff}
.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}.badge.na{background:#8c959f}
tr.fail td{background:#ffebe9}tr.pass td{background:#f0fff4}
tr.error td{background:#ffebe9}tr.unexpected td{background:#fff8c5}
.verdict{font-size:28px;font-weight:800;padding:4px 16px;border-radius:8px;color:#fff;
float:right}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px}
svg.chart{width:100%;height:auto;display:block}
svg .title{font-weight:600;font-size:13px;fill:#1f2328}svg .unit{font-weight:400;fill:#57606a}
svg .grid{stroke:#eaeef2}svg .ytick{font-size:11px;fill:#57606a;text-anchor:end}
svg .xtick{font-size:11px;fill:#57606a;text-anchor:middle}
svg .line{fill:none;stroke-width:2;stroke-linejoin:round}
svg .target{fill:none;stroke-width:1.5;stroke-dasharray:5 3}
svg .targetlabel{font-size:11px;fill:#57606a;text-anchor:end}
svg .limit{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:6 4}
svg .limitlabel{font-size:11px;fill:#cf222e;text-anchor:end}svg .start{text-anchor:start}
svg .bar{fill:#0969da}svg .empty{font-size:13px;fill:#8c959f;text-anchor:middle}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
footer{color:#57606a;font-size:12px;margin-top:24px}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><main>
<div class="verdict {verdict_class}">{verdict}</div>
<h1>Load test report: {scenario}</h1>
<table class="facts card">{facts}</table>
<h2>SLA verdict</h2>
<table class="thresholds"><thead><tr><th>Result</th><th>Threshold</th>
<th class=num>Observed</th><th class=num>Limit</th><th>Detail</th></tr></thead>
<tbody>{thresholds}</tbody></table>
{invalid}
<h2>Over time</h2>
<div class="grid2">{charts}</div>
<h2>Latency distribution</h2>
<figure class="card">{histogram}</figure>
<h2>Failures by reason</h2>
{reasons}
<h2>Routes</h2>
<table class="routes"><thead><tr><th>Endpoint</th><th class=num>Requests</th>
<th class=num>SLA errors</th><th class=num>Error rate</th><th class=num>Unexpected</th>
<th class=num>req/s</th>
<th class=num>p50</th><th class=num>p95</th><th class=num>p99</th><th class=num>max</th>
</tr></thead><tbody>{routes}</tbody></table>
<footer>Generated by loadwatch. Latencies within 1 % (quantile sketch); counts exact.</footer>
</main></body></html>
"""
