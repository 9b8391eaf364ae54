"""The HTML run report: one self-contained page (pure: values in, str out).

`html_report(info, stats, verdict)` is one HTML file with inline CSS and inline SVG charts
(`loadtests.charts`): no JavaScript and no external URL, so it opens offline and can be
attached to a CI run. Every user-controlled string (scenario, host, route names, SLA source) is
escaped. `RunInfo` (`loadtests.run_info`) and `json_summary` (`loadtests.summary`, what
`--json` writes) are re-exported here, where the runner and the tests import them.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from loadtests.breakdown import outcome_label
from loadtests.charts import latency_histogram, line_chart
from loadtests.gate import Metric, ThresholdResult, Verdict, format_value
from loadtests.run_info import RunInfo
from loadtests.saturation import CPU_LIMIT_PERCENT, LAG_LIMIT_S, WindowLoad, worst_of
from loadtests.stats import EndpointStats, Outcome, RunStats, WindowStats
from loadtests.summary import json_summary

__all__ = ["RunInfo", "html_report", "json_summary"]


def html_report(info: RunInfo, stats: RunStats, verdict: Verdict) -> str:
    """One self-contained HTML page: facts, verdict, four time charts, histogram, routes."""
    end_s = max([stats.duration_s, *(w.start_s + w.length_s for w in stats.windows)])
    latency = next((r for r in verdict.thresholds if r.metric is Metric.LATENCY), None)
    p95_limit = latency.limit if latency and latency.name.startswith("latency p95 ") else None

    def series(value: Callable[[WindowStats], float | None]) -> list[tuple[float, float | None]]:
        return [(w.start_s + w.length_s / 2, value(w)) for w in stats.windows]

    target = series(lambda w: w.target) if any(w.target is not None for w in stats.windows) else ()
    charts = [
        line_chart(
            "Requests per second",
            "req/s",
            series(lambda w: w.rps),
            end_s,
            target=target if info.model == "open" else (),
        ),
        line_chart(
            "p95 latency", "ms", series(lambda w: w.latency.p95_ms), end_s, threshold=p95_limit
        ),
        line_chart(
            "Errors per second",
            "errors/s",
            series(lambda w: w.failures / w.length_s),
            end_s,
            color="#cf222e",
        ),
        line_chart(
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
            line_chart(
                "Generator CPU (worst process)",
                "% of a core",
                series(load(lambda r: r.cpu_percent)),
                end_s,
                threshold=CPU_LIMIT_PERCENT,
                color="#9a6700",
            ),
            line_chart(
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
        histogram=latency_histogram(stats, latency),
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
