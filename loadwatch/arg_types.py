"""argparse `type=` converters shared by the `loadwatch` subcommands: each rejects a bad value
with a message naming what was expected, which argparse turns into exit 2 and one line."""

from __future__ import annotations

import argparse
import math

__all__ = ["MAX_DEMO_S", "demo_seconds", "port", "positive_float", "positive_int"]


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0..65535, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


MAX_DEMO_S = 30 * 86400


def demo_seconds(text: str) -> float:
    """Seconds > 0, at most MAX_DEMO_S (30 days)."""
    value = positive_float(text)
    if value > MAX_DEMO_S:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_DEMO_S} seconds, got {text!r}")
    return value
