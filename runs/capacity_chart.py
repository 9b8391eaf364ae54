"""The capacity search's HTML page: latency, error ratio and achieved rate against the
offered rate, one inline SVG chart each, with the SLA limits, the highest passing rate and
the recommended operating point marked.

    page = capacity_html(title, probes, max_rate=205.0, recommended=164.0,
                         percentile=0.95, latency_limit_s=0.2, error_limit=0.01)

Self-contained: no script, no font or stylesheet from another host. Pure; O(probes).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from loadtests.chart_axes import axis_steps, nice_ceiling, tick_label
from runs.capacity_report import ProbeFigures

__all__ = ["capacity_html"]

_W, _H = 560, 260  # one chart (px)
_L, _R, _T, _B = 64, 16, 34, 40  # margins (px)
_PASS, _FAIL, _LINE = "#1a7f37", "#cf222e", "#0969da"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _chart(
    title: str,
    unit: str,
    probes: Sequence[ProbeFigures],
    value: Callable[[ProbeFigures], float | None],
    *,
    x_top: float,
    limit: float | None,
    marks: Sequence[tuple[float, str]],
    diagonal: bool = False,
) -> str:
    """One chart: `value` of each probe (x: offered req/s), the `limit` as a red line,
    `marks` as labelled vertical lines, and y = x when `diagonal`."""
    points = [(p.rate, value(p), p.ok) for p in sorted(probes, key=lambda p: p.rate)]
    known = [y for _, y, _ in points if y is not None]
    y_step, y_count = axis_steps(
        max([*known, limit or 0.0, x_top if diagonal else 0.0, 1e-9]) * 1.08
    )
    y_top = y_step * y_count
    x_step, x_count = axis_steps(x_top, 5)
    plot_w, plot_h = _W - _L - _R, _H - _T - _B

    def x_of(rate: float) -> float:
        return _L + plot_w * rate / x_top

    def y_of(v: float) -> float:
        return _T + plot_h * (1 - v / y_top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{_e(title)}">',
        f'<text x="{_L}" y="20" class="title">{_e(title)}'
        f' <tspan class="unit">({_e(unit)})</tspan></text>',
    ]
    for i in range(y_count + 1):
        y = y_of(y_step * i)
        parts.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_L - 6}" y="{y + 4:.1f}" class="ytick">{tick_label(y_step * i)}</text>'
        )
    for i in range(x_count + 1):
        if x_step * i <= x_top * (1 + 1e-9):
            x = x_of(x_step * i)
            parts.append(
                f'<text x="{x:.1f}" y="{_H - _B + 16}" class="xtick">'
                f"{tick_label(x_step * i)}</text>"
            )
    parts.append(
        f'<text x="{_L + plot_w / 2}" y="{_H - 6}" class="xtick">offered rate (req/s)</text>'
    )
    if diagonal:
        parts.append(
            f'<line x1="{x_of(0):.1f}" y1="{y_of(0):.1f}" x2="{x_of(x_top):.1f}"'
            f' y2="{y_of(min(x_top, y_top)):.1f}" class="diagonal"/>'
        )
    for row, (rate, label) in enumerate(marks):
        x = x_of(rate)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{_H - _B}" class="mark"/>'
            f'<text x="{x + 3:.1f}" y="{_T + 10 + 13 * row}" class="marklabel">{_e(label)}</text>'
        )
    if limit is not None:
        y = y_of(limit)
        parts.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" class="limit"/>'
            f'<text x="{_W - _R}" y="{y - 4:.1f}" class="limitlabel">SLA {tick_label(limit)}'
            f" {_e(unit)}</text>"
        )
    line = [(x_of(rate), y_of(v)) for rate, v, _ in points if v is not None]
    if len(line) > 1:
        coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in line)
        parts.append(f'<polyline points="{coords}" stroke="{_LINE}" class="line"/>')
    for rate, v, ok in points:
        if v is not None:
            color = _PASS if ok else _FAIL
            parts.append(
                f'<circle cx="{x_of(rate):.1f}" cy="{y_of(v):.1f}" r="4" fill="{color}">'
                f"<title>{rate:,.1f} req/s: {tick_label(v)} {_e(unit)},"
                f" {'pass' if ok else 'FAIL'}</title></circle>"
            )
    if not known:
        parts.append(f'<text x="{_W / 2}" y="{_H / 2}" class="empty">no data</text>')
    return "".join(parts) + "</svg>"


_STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}table{border-collapse:collapse;margin:12px 0}
td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #d0d7de}
.fail{color:#cf222e;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{width:560px;max-width:100%;background:#fff;border:1px solid #d0d7de}
.title{font-weight:600;font-size:13px}.unit{font-weight:400;fill:#57606a}
.grid{stroke:#eaeef2}.ytick{font-size:11px;text-anchor:end;fill:#57606a}
.xtick{font-size:11px;text-anchor:middle;fill:#57606a}.empty{text-anchor:middle;fill:#57606a}
.line{fill:none;stroke-width:1.5}.limit{stroke:#cf222e;stroke-dasharray:6 4}
.limitlabel{font-size:11px;text-anchor:end;fill:#cf222e}
.mark{stroke:#8250df;stroke-dasharray:3 3}.marklabel{font-size:11px;fill:#8250df}
.diagonal{stroke:#afb8c1;stroke-dasharray:2 4}
"""


def _rows(probes: Sequence[ProbeFigures], percentile: float) -> str:
    head = (
        "<tr><th>offered req/s</th><th>achieved req/s</th>"
        f"<th>p{percentile * 100:g} ms</th><th>mean ms</th><th>errors</th><th>SLA</th></tr>"
    )
    rows = [head]
    for p in sorted(probes, key=lambda p: p.rate):
        latency = "-" if p.latency_s is None else f"{p.latency_s * 1000:,.1f}"
        mean = "-" if p.mean_s is None else f"{p.mean_s * 1000:,.1f}"
        verdict = "pass" if p.ok else f'<span class="fail">FAIL</span> {_e(p.note)}'
        rows.append(
            f"<tr><td>{p.rate:,.1f}</td><td>{p.achieved_rps:,.1f}</td><td>{latency}</td>"
            f"<td>{mean}</td><td>{p.error_ratio:.2%}</td><td>{verdict}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def capacity_html(
    title: str,
    probes: Sequence[ProbeFigures],
    *,
    max_rate: float | None,
    recommended: float | None,
    percentile: float,
    latency_limit_s: float | None,
    error_limit: float | None,
    summary: Sequence[str] = (),
) -> str:
    """The whole page; `summary` lines (the answer, the sizing) are shown above the charts."""
    x_top = nice_ceiling(max((p.rate for p in probes), default=1.0) * 1.05)
    marks = []
    if max_rate is not None:
        marks.append((max_rate, f"max {max_rate:,.0f}"))
    if recommended is not None:
        marks.append((recommended, f"recommended {recommended:,.0f}"))
    label = f"p{percentile * 100:g} latency"
    charts = [
        _chart(
            label,
            "ms",
            probes,
            lambda p: None if p.latency_s is None else p.latency_s * 1000,
            x_top=x_top,
            limit=None if latency_limit_s is None else latency_limit_s * 1000,
            marks=marks,
        ),
        _chart(
            "error ratio",
            "%",
            probes,
            lambda p: p.error_ratio * 100,
            x_top=x_top,
            limit=None if error_limit is None else error_limit * 100,
            marks=marks,
        ),
        _chart(
            "achieved rate",
            "req/s",
            probes,
            lambda p: p.achieved_rps,
            x_top=x_top,
            limit=None,
            marks=marks,
            diagonal=True,
        ),
    ]
    items = "".join(f"<li>{_e(line)}</li>" for line in summary)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><ul>{items}</ul>"
        f'<div class="charts">{"".join(charts)}</div>'
        f"<h2>Probes</h2>{_rows(probes, percentile)}</body></html>\n"
    )
