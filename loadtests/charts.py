"""Inline SVG charts for the HTML report (pure: values in, markup out; no JavaScript).

`line_chart` draws a time series (a dashed load-shape target and an SLA limit optional);
`latency_histogram` the request counts of a run's sketch in log-scale buckets. Each returns one
`<svg>` element styled by the report's CSS classes (`title`, `grid`, `line`, `limit`, `bar`...);
every label is escaped. Sizes are in SVG px: a time chart is 520 x 210, the histogram 1040 wide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from loadtests.chart_axes import axis_steps, tick_label
from loadtests.gate import ThresholdResult
from loadtests.stats import RunStats

__all__ = ["latency_histogram", "line_chart"]


_H, _L, _R, _T, _B = 210, 58, 14, 30, 34  # chart height and margins (px)
_W, _WIDE = 520, 1040  # widths of a time chart and of the histogram (px)
_PLOT_H = _H - _T - _B


def _frame(
    title: str, unit: str, width: int, y_max: float, x_ticks: Sequence[tuple[float, str]]
) -> tuple[str, float]:
    """Opening <svg>, title, y grid from 0 to a round top >= y_max, x labels at 0..1 fractions.

    Returns the markup (without </svg>) and the y value of the plot's top edge.
    """
    step, count = axis_steps(y_max, 4)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {_H}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_L}" y="18" class="title">{escape(title)} <tspan class="unit">({escape(unit)})'
        "</tspan></text>",
    ]
    for i in range(count + 1):
        y = _T + _PLOT_H * (1 - i / count)
        parts.append(
            f'<line x1="{_L}" x2="{width - _R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_L - 6}" y="{y + 4:.1f}" class="ytick">{tick_label(step * i)}</text>'
        )
    for fraction, label in x_ticks:
        x = _L + (width - _L - _R) * fraction
        parts.append(f'<text x="{x:.1f}" y="{_H - _B + 16}" class="xtick">{escape(label)}</text>')
    return "".join(parts), step * count


def line_chart(
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
    step, count = axis_steps(end_s, 6)
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
            f'<text x="{_W - _R}" y="{y - 4:.1f}" class="limitlabel">SLA {tick_label(threshold)} '
            f"{escape(unit)}</text>"
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


def latency_histogram(stats: RunStats, latency: ThresholdResult | None) -> str:
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
                f"{escape(latency.name)}</text>"
            )
    if sketch.zero_count:
        parts.append(
            f'<text x="{_WIDE - _R}" y="{_T - 6}" class="ytick">+{sketch.zero_count:,} at 0 ms'
            "</text>"
        )
    return "".join(parts) + "</svg>"


def _ms_label(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:.3g} ms"
