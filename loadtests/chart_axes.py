"""Round axis steps and tick labels for the inline SVG charts (the load-test report's and the
capacity report's). Pure."""

from __future__ import annotations

import math

__all__ = ["axis_steps", "nice_ceiling", "tick_label"]


def nice_ceiling(top: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above `top` (1 when top <= 0)."""
    if top <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(top))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= top * (1 - 1e-12))


def axis_steps(top: float, about: int = 4) -> tuple[float, int]:
    """A round step and how many of them cover 0..top in about `about` steps."""
    step = nice_ceiling(top / about) if top > 0 else 1.0
    return step, max(1, math.ceil(top / step - 1e-9))


def tick_label(value: float) -> str:
    """`value` as an axis label: thousands separated from 100 up, 3 significant digits below."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
