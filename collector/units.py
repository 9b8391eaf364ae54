"""Parsing of the human units used in sla.yaml: durations, percentages and rates.

Pure functions. Each raises `UnitError` with the expectation spelled out, so the caller can
prefix the file and field path.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = [
    "MAX_DURATION_S",
    "UnitError",
    "format_duration",
    "parse_duration",
    "parse_percent",
    "parse_rate",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h|d)\s*$")
_DURATION_SECONDS = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
MAX_DURATION_S = 100 * 365 * 86400.0
"""Longest duration accepted anywhere (a century, in seconds): beyond it is a typo, and
timers and datetimes overflow."""
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*%\s*$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*/\s*(s|m|h)\s*$")
_RATE_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


class UnitError(ValueError):
    """A value could not be parsed; `expected` says what would have been accepted."""

    def __init__(self, expected: str, value: object) -> None:
        super().__init__(f"expected {expected}, got {value!r}")
        self.expected = expected
        self.value = value


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def parse_duration(value: object) -> float:
    """Parse '200ms', '1s', '1.5m', '30d' (or a bare number of seconds) into seconds
    (> 0, at most MAX_DURATION_S)."""
    expected = "a duration like '200ms', '1s' or '30d'"
    number = _number(value)
    if number is not None:
        seconds = number
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _DURATION_SECONDS[match.group(2)]
    else:
        raise UnitError(expected, value)
    if seconds <= 0:
        raise UnitError(expected + " greater than zero", value)
    if not seconds <= MAX_DURATION_S:
        raise UnitError(expected + " of at most 100 years", value)
    return seconds


def parse_percent(value: object) -> float:
    """Parse '99.9%' into the fraction 0.999; the result lies in [0, 1].

    A bare number is read as a fraction only when it is written without '%' and lies in
    [0, 1] (so `0.01` means 1 %).
    """
    expected = "a percentage like '1%' or '99.9%'"
    number = _number(value)
    if number is not None:
        fraction = number
    elif isinstance(value, str) and (match := _PERCENT.match(value)):
        fraction = float(Decimal(match.group(1)) / 100)
    else:
        raise UnitError(expected, value)
    if not 0.0 <= fraction <= 1.0:
        raise UnitError(expected + " between 0% and 100%", value)
    return fraction


def parse_rate(value: object) -> float:
    """Parse '1000/s' (or '/m', '/h', or a bare number per second) into events per second (> 0)."""
    expected = "a rate like '1000/s'"
    number = _number(value)
    if number is not None:
        rate = number
    elif isinstance(value, str) and (match := _RATE.match(value)):
        rate = float(match.group(1)) / _RATE_SECONDS[match.group(2)]
    else:
        raise UnitError(expected, value)
    if rate <= 0:
        raise UnitError(expected + " greater than zero", value)
    return rate


def format_duration(seconds: float) -> str:
    """Render seconds as sla.yaml writes them: 0.2 -> '200ms', 1.0 -> '1s', 2592000 -> '30d'."""
    for unit, factor in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= factor and (seconds / factor).is_integer():
            return f"{int(seconds / factor)}{unit}"
    milliseconds = seconds * 1000.0
    if milliseconds >= 1 and round(milliseconds, 6).is_integer():
        return f"{round(milliseconds)}ms"
    return f"{seconds:g}s"
