"""Prometheus' template functions, reproduced to predict the annotations it renders.

`render("{{ $value | humanizePercentage }} of {{ $labels.service }}", labels, 0.0216)`
gives what Prometheus 2.x writes ("2.16% of course"): the promtool tests compare alert
annotations exactly. Only the forms the generated rules use are supported. Pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

__all__ = ["humanize", "humanize_duration", "humanize_percentage", "plain", "render"]


def _go_g(value: float) -> str:
    """Go's fmt %.4g (the same as C's for finite values)."""
    return f"{value:.4g}"


def humanize_percentage(value: float) -> str:
    """Prometheus' `humanizePercentage`: 0.0216 -> '2.16%'."""
    return f"{_go_g(value * 100)}%"


def humanize(value: float) -> str:
    """Prometheus' `humanize`: SI prefixes, 4 significant digits (1500 -> '1.5k')."""
    if value == 0 or not math.isfinite(value):
        return _go_g(value)
    prefix = ""
    if abs(value) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(value) >= 1:
                break
            prefix, value = p, value * 1000
    return f"{_go_g(value)}{prefix}"


def humanize_duration(value: float) -> str:
    """Prometheus' `humanizeDuration` for values >= 1 s: 86460 -> '1d 0h 1m 0s'."""
    whole = int(value)
    days, hours = whole // 86_400, whole // 3_600 % 24
    minutes, seconds = whole // 60 % 60, whole % 60
    if days:
        return f"{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{_go_g(value)}s"


def plain(value: float) -> str:
    """Go's %v of a float64 for the values used here ('0', '19', '0.5')."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_FORMATS: Mapping[str, Callable[[float], str]] = {
    "humanizePercentage": humanize_percentage,
    "humanize": humanize,
    "humanizeDuration": humanize_duration,
}
_TEMPLATE = re.compile(r"\{\{ \$(labels\.(\w+)|value)(?: \| (\w+))? \}\}")


def render(template: str, labels: Mapping[str, str], value: float) -> str:
    """`template` with `{{ $labels.x }}` and `{{ $value[ | fn] }}` filled in."""

    def one(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return labels.get(match.group(2), "")
        fmt = match.group(3)
        return _FORMATS[fmt](value) if fmt else plain(value)

    return _TEMPLATE.sub(one, template)
