"""loadwatch's collector: the SLA model, metric vocabulary, quantile sketch and aiohttp
instrumentation that every other package builds on."""

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
