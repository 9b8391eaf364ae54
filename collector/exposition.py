"""Fast Prometheus text and OpenMetrics rendering of loadwatch's own metric families.

`prometheus_client.generate_latest` builds a `Sample` tuple per line and formats it in
Python: about 25 ms for 20 histograms x 10 label sets. Here each histogram series keeps
its rendered line prefixes, so a scrape is one string join: about 1 ms for the same.
Pure: families in, text out. `FamilyCollector` adapts the same families to a
`prometheus_client` registry for anything else that reads it (push, other exporters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString as _float_to_go_string

from collector.recorder import HistogramSeries, NativeHistogram

__all__ = [
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_TEXT",
    "CounterFamily",
    "Family",
    "FamilyCollector",
    "GaugeFamily",
    "HistogramFamily",
    "NativeHistogram",
    "NativeHistogramFamily",
    "escape_label_value",
    "render",
    "wants_openmetrics",
]

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass(frozen=True, slots=True)
class CounterFamily:
    """A counter family; `name` without `_total`. Rows: (label values, value)."""

    name: str
    help: str
    label_names: tuple[str, ...]
    rows: Sequence[tuple[tuple[str, ...], float]]


@dataclass(frozen=True, slots=True)
class GaugeFamily:
    """A gauge family. Rows: (label values, value)."""

    name: str
    help: str
    label_names: tuple[str, ...]
    rows: Sequence[tuple[tuple[str, ...], float]]


@dataclass(frozen=True, slots=True)
class HistogramFamily:
    """A histogram family in seconds; each series' label values follow `label_names`."""

    name: str
    help: str
    label_names: tuple[str, ...]
    bounds_s: tuple[float, ...]
    series: Sequence[HistogramSeries]


@dataclass(frozen=True, slots=True)
class NativeHistogramFamily:
    """A native histogram family: only the protobuf exposition carries it (the text formats
    leave it out). Rows: (label values, histogram)."""

    name: str
    help: str
    label_names: tuple[str, ...]
    schema: int
    rows: Sequence[tuple[tuple[str, ...], NativeHistogram]]


Family = CounterFamily | GaugeFamily | HistogramFamily | NativeHistogramFamily


def floatToGoString(value: float) -> str:
    """Format a float as Go's strconv does, which is how Prometheus writes `le` values."""
    text: str = _float_to_go_string(value)  # type: ignore[no-untyped-call]
    return text


def escape_label_value(value: str) -> str:
    """Escape a label value for both text formats (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    return ",".join(f'{n}="{escape_label_value(v)}"' for n, v in zip(names, values, strict=True))


def _value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return floatToGoString(value)


def _histogram_prefixes(family: HistogramFamily, series: HistogramSeries) -> list[str]:
    """Line prefixes for every bucket, then `_count` and `_sum`; cached on the series."""
    cache = series.render_cache
    if isinstance(cache, tuple) and cache[0] == family.name:
        prefixes: list[str] = cache[1]
        return prefixes
    labels = _labels(family.label_names, series.label_values)
    sep = "," if labels else ""
    prefixes = [
        f'{family.name}_bucket{{{labels}{sep}le="{floatToGoString(bound)}"}} '
        for bound in (*family.bounds_s, float("inf"))
    ]
    prefixes.append(f"{family.name}_count{{{labels}}} ")
    prefixes.append(f"{family.name}_sum{{{labels}}} ")
    series.render_cache = (family.name, prefixes)
    return prefixes


def _render_histogram(family: HistogramFamily, out: list[str]) -> None:
    out.append(f"# HELP {family.name} {family.help}\n# TYPE {family.name} histogram\n")
    for series in family.series:
        counts = series.counts
        if not any(counts):
            continue
        total = 0
        prefixes = _histogram_prefixes(family, series)
        for prefix, count in zip(prefixes, counts, strict=False):
            total += count
            out.append(f"{prefix}{total}\n")
        out.append(f"{prefixes[-2]}{total}\n{prefixes[-1]}{floatToGoString(series.sum_s)}\n")


def render(families: Iterable[Family], *, openmetrics: bool) -> str:
    """Render families in Prometheus text 0.0.4, or OpenMetrics 1.0 without the `# EOF`."""
    out: list[str] = []
    for family in families:
        if isinstance(family, HistogramFamily):
            if any(s.count for s in family.series):
                _render_histogram(family, out)
            continue
        if isinstance(family, NativeHistogramFamily) or not family.rows:
            continue
        if isinstance(family, CounterFamily):
            sample = f"{family.name}_total"
            meta = family.name if openmetrics else sample
            out.append(f"# HELP {meta} {family.help}\n# TYPE {meta} counter\n")
        else:
            sample = family.name
            out.append(f"# HELP {sample} {family.help}\n# TYPE {sample} gauge\n")
        for values, value in family.rows:
            labels = _labels(family.label_names, values)
            out.append(f"{sample}{{{labels}}} {_value(value)}\n")
    return "".join(out)


def _without_empty(series: Iterable[HistogramSeries]) -> list[HistogramSeries]:
    return [s for s in series if s.count]


def to_client_metrics(families: Iterable[Family]) -> Iterator[Metric]:
    """The same families as `prometheus_client` metric objects (slow; for interop only)."""
    for family in families:
        if isinstance(family, HistogramFamily):
            hist = HistogramMetricFamily(family.name, family.help, labels=family.label_names)
            for series in _without_empty(family.series):
                cumulative = series.cumulative()
                buckets = [
                    (floatToGoString(bound), float(count))
                    for bound, count in zip(
                        (*family.bounds_s, float("inf")), cumulative, strict=True
                    )
                ]
                hist.add_metric(list(series.label_values), buckets, series.sum_s)
            yield hist
        elif isinstance(family, CounterFamily):
            counter = CounterMetricFamily(family.name, family.help, labels=family.label_names)
            for values, value in family.rows:
                counter.add_metric(list(values), value)
            yield counter
        elif isinstance(family, GaugeFamily):
            gauge = GaugeMetricFamily(family.name, family.help, labels=family.label_names)
            for values, value in family.rows:
                gauge.add_metric(list(values), value)
            yield gauge


_rendering_fast: ContextVar[bool] = ContextVar("loadwatch_rendering_fast", default=False)


class FamilyCollector(Collector):
    """Registers loadwatch's families in a `prometheus_client` registry.

    `collect()` serves any generic reader of the registry (native histograms left out:
    `prometheus_client` has no type for them). The `/metrics` handler instead calls
    `render_fast()` (or encodes `families()` as protobuf) and then
    `generate_latest(registry)` inside `skip_in_registry()`, during which `collect()`
    yields nothing, so no family appears twice. `guard`, when given, is entered around
    every build and render of the families (e.g. to hold the recorders' locks, so any
    thread may scrape).
    """

    def __init__(
        self,
        families: Callable[[], list[Family]],
        *,
        guard: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self._families = families
        self._guard = guard

    def describe(self) -> list[Metric]:
        """Family names for the registry's duplicate check (samples not computed)."""
        with self._guard():
            families = self._families()
        return [
            HistogramMetricFamily(f.name, f.help)
            if isinstance(f, HistogramFamily)
            else CounterMetricFamily(f.name, f.help)
            if isinstance(f, CounterFamily)
            else GaugeMetricFamily(f.name, f.help)
            for f in families
            if not isinstance(f, NativeHistogramFamily)
        ]

    def collect(self) -> Iterator[Metric]:
        if _rendering_fast.get():
            return iter(())
        with self._guard():
            return iter(list(to_client_metrics(self._families())))

    def render_fast(self, *, openmetrics: bool) -> str:
        """The families in the requested format, via the fast renderer."""
        with self._guard():
            return render(self._families(), openmetrics=openmetrics)

    def families(self) -> list[Family]:
        """The families as they stand now (built under the guard), e.g. for protobuf."""
        with self._guard():
            return self._families()

    @staticmethod
    def skip_in_registry() -> _SkipToken:
        """Context manager: while inside, `collect()` of every FamilyCollector is empty."""
        return _SkipToken()


class _SkipToken:
    def __enter__(self) -> None:
        self._token = _rendering_fast.set(True)

    def __exit__(self, *exc: object) -> None:
        _rendering_fast.reset(self._token)


def wants_openmetrics(accept_header: str | None) -> bool:
    """Whether the scraper's Accept header asks for OpenMetrics (Prometheus does, first)."""
    if not accept_header:
        return False
    return any(
        part.split(";")[0].strip() == "application/openmetrics-text"
        for part in accept_header.split(",")
    )
