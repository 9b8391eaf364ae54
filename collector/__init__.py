"""loadwatch's collector: the SLA model, metric vocabulary, quantile sketch and aiohttp
instrumentation that every other package builds on.

Importing the package imports nothing else: each name below loads its module on first
use, so `import collector.quantiles` (or `.sla`, `.conventions`, `.snapshot`, `.units`)
stays free of aiohttp, prometheus_client and psutil, while `from collector import
instrument` still works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collector.instrumentation import Instrumentation
    from collector.middleware import INSTRUMENTATION_KEY, instrument
    from collector.quantiles import LogMapping, QuantileSketch, WindowedSketch
    from collector.sla import SLA, SLAError, default_sla, load_sla, parse_sla, resolve_sla
    from collector.snapshot import Snapshot, merge_snapshots

__all__ = [
    "INSTRUMENTATION_KEY",
    "SLA",
    "Instrumentation",
    "LogMapping",
    "QuantileSketch",
    "SLAError",
    "Snapshot",
    "WindowedSketch",
    "default_sla",
    "instrument",
    "load_sla",
    "merge_snapshots",
    "parse_sla",
    "resolve_sla",
]

_MODULE_OF = {
    "INSTRUMENTATION_KEY": "collector.middleware",
    "SLA": "collector.sla",
    "Instrumentation": "collector.instrumentation",
    "LogMapping": "collector.quantiles",
    "QuantileSketch": "collector.quantiles",
    "SLAError": "collector.sla",
    "Snapshot": "collector.snapshot",
    "WindowedSketch": "collector.quantiles",
    "default_sla": "collector.sla",
    "instrument": "collector.middleware",
    "load_sla": "collector.sla",
    "merge_snapshots": "collector.snapshot",
    "parse_sla": "collector.sla",
    "resolve_sla": "collector.sla",
}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first access (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'collector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
