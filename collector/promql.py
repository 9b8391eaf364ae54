"""PromQL builders over the collector's metrics: the one place queries are written.

Rules, dashboards and `loadwatch loadtest --prometheus` call these instead of writing
PromQL by hand; every metric, label and bucket name comes from `collector.conventions`,
and an error is what `conventions.is_sla_error` says (`code=~"5..|499"`). Latency
quantiles read the native histogram; the SLI ratios read the classic bucket whose bound is
the threshold (exact, and present without the native feature). Pure: strings
in, strings out, microseconds per call.

`window` is a Prometheus duration ("5m", "10s"); `by` the labels the result keeps (empty:
one series for everything); `matchers` narrow the input series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collector import conventions as names

__all__ = [
    "ERROR_MATCHER",
    "Matcher",
    "bucket_rates",
    "cache_hit_ratio",
    "classic_quantile",
    "error_ratio",
    "firing_alerts",
    "histogram_quantile",
    "le_value",
    "number",
    "over_threshold_ratio",
    "quantile",
    "request_rate",
    "requests_in",
    "selector",
    "sum_of",
    "sum_rate",
    "window_of",
]

_OPERATORS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher, e.g. `Matcher("service", "course")` or `Matcher("code", "5..", "=~")`."""

    label: str
    value: str
    op: str = "="

    def __post_init__(self) -> None:
        if self.op not in _OPERATORS:
            raise ValueError(f"matcher operator: expected one of {_OPERATORS}, got {self.op!r}")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'


ERROR_MATCHER = Matcher(names.LABEL_CODE, names.ERROR_CODE_REGEX, "=~")
"""Selects the request counter's error series: 5xx, and 499 (no response was sent)."""


def selector(metric: str, matchers: Sequence[Matcher] = ()) -> str:
    """`metric{a="b",...}`; a label may appear in several matchers (`route!="x",route!="y"`)."""
    return f"{metric}{{{','.join(str(m) for m in matchers)}}}" if matchers else metric


def le_value(bound_s: float) -> str:
    """The `le` label value of a bucket bound as the exposition writes it ('0.2', '1.0').

    That is Go's float format, which for 0 < bound < 1e6 s (any duration bucket) is
    Python's repr; tests hold it equal to `collector.exposition.floatToGoString`.
    """
    if not 0.0 < bound_s < 1e6:
        raise ValueError(f"bucket bound: expected 0 < seconds < 1e6, got {bound_s!r}")
    return repr(float(bound_s))


def number(value: float) -> str:
    """A threshold as PromQL text, rounded to 12 significant digits (0.0144, not
    0.014400000000000001; 1000, not 1000.0)."""
    text = repr(float(f"{value:.12g}"))
    return text[:-2] if text.endswith(".0") else text


def window_of(seconds: float) -> str:
    """A Prometheus duration covering `seconds` (whole seconds, at least 1s)."""
    return f"{max(1, math.ceil(seconds))}s"


def _sum(expr: str, by: Sequence[str]) -> str:
    return f"sum by ({', '.join(by)}) ({expr})" if by else f"sum({expr})"


def _requests(matchers: Sequence[Matcher]) -> str:
    return selector(f"{names.HTTP_REQUESTS}_total", matchers)


def request_rate(
    window: str, *, by: Sequence[str] = (names.LABEL_SERVICE,), matchers: Sequence[Matcher] = ()
) -> str:
    """Requests per second over `window` (every status, 4xx included)."""
    return _sum(f"rate({_requests(matchers)}[{window}])", by)


def requests_in(window: str, *, by: Sequence[str] = (), matchers: Sequence[Matcher] = ()) -> str:
    """Requests completed over `window` (a count, from `increase`)."""
    return _sum(f"increase({_requests(matchers)}[{window}])", by)


def error_ratio(
    window: str, *, by: Sequence[str] = (names.LABEL_SERVICE,), matchers: Sequence[Matcher] = ()
) -> str:
    """Errors over all requests in `window`, 0 (not "no data") when nothing failed."""
    total = request_rate(window, by=by, matchers=matchers)
    errors = _sum(f"rate({_requests((*matchers, ERROR_MATCHER))}[{window}])", by)
    return f"({errors} or 0 * {total}) / {total}"


def over_threshold_ratio(
    window: str,
    threshold_s: float,
    *,
    by: Sequence[str] = (names.LABEL_SERVICE,),
    matchers: Sequence[Matcher] = (),
    route_thresholds: Mapping[str, float] | None = None,
) -> str:
    """The fraction of requests slower than `threshold_s` seconds over `window`.

    Read from the classic bucket whose bound is exactly the threshold (the collector puts
    every SLA threshold among its bounds), so the ratio is exact, not interpolated.
    `route_thresholds` judges the requests of those route templates by their own bound.
    """
    bucket = f"{names.HTTP_REQUEST_DURATION}_bucket"
    count = f"{names.HTTP_REQUEST_DURATION}_count"
    overrides = {r: t for r, t in (route_thresholds or {}).items() if t != threshold_s}
    others = [Matcher(names.LABEL_ROUTE, route, "!=") for route in sorted(overrides)]
    parts = [
        _bucket_rate(bucket, [*matchers, *others], threshold_s, window),
        *(
            _bucket_rate(bucket, [*matchers, Matcher(names.LABEL_ROUTE, route)], bound, window)
            for route, bound in sorted(overrides.items())
        ),
    ]
    good = _sum(" or ".join(parts), by)
    total = _sum(f"rate({selector(count, matchers)}[{window}])", by)
    return f"1 - {good} / {total}"


def _bucket_rate(bucket: str, matchers: Sequence[Matcher], bound_s: float, window: str) -> str:
    le = Matcher(names.LABEL_LE, le_value(bound_s))
    return f"rate({selector(bucket, [*matchers, le])}[{window}])"


def quantile(
    q: float,
    window: str,
    *,
    by: Sequence[str] = (names.LABEL_SERVICE,),
    matchers: Sequence[Matcher] = (),
) -> str:
    """The `q` quantile (0.95 for p95) of request latency in seconds over `window`, from
    the native histogram: within about 0.54 % of the recorded quantile at any latency.

    Needs Prometheus' `native-histograms` feature (the stack turns it on); without it the
    series is absent and the result is empty: `classic_quantile` then.
    """
    native = selector(names.HTTP_REQUEST_DURATION_NATIVE, matchers)
    return f"histogram_quantile({number(q)}, {_sum(f'rate({native}[{window}])', by)})"


def classic_quantile(
    q: float,
    window: str,
    *,
    by: Sequence[str] = (names.LABEL_SERVICE,),
    matchers: Sequence[Matcher] = (),
) -> str:
    """`quantile` from the classic buckets, interpolated linearly within the bucket that
    holds it: as coarse as the bucket layout (tens of percent between sparse bounds)."""
    bucket = selector(f"{names.HTTP_REQUEST_DURATION}_bucket", matchers)
    buckets = _sum(f"rate({bucket}[{window}])", (*by, names.LABEL_LE))
    return f"histogram_quantile({number(q)}, {buckets})"


# -- Builders for the dashboards' panels: any metric family, by name from conventions ------


def sum_of(metric: str, *, by: Sequence[str] = (), matchers: Sequence[Matcher] = ()) -> str:
    """A gauge summed over the series it keeps apart by `by` labels."""
    return _sum(selector(metric, matchers), by)


def sum_rate(
    metric: str, window: str, *, by: Sequence[str] = (), matchers: Sequence[Matcher] = ()
) -> str:
    """Per-second rate of a counter (`metric` with its `_total`) over `window`, summed."""
    return _sum(f"rate({selector(metric, matchers)}[{window}])", by)


def histogram_quantile(
    metric: str,
    q: float,
    window: str,
    *,
    by: Sequence[str] = (),
    matchers: Sequence[Matcher] = (),
) -> str:
    """The `q` quantile of any classic histogram family `metric` (its base name)."""
    rates = sum_rate(f"{metric}_bucket", window, by=(*by, names.LABEL_LE), matchers=matchers)
    return f"histogram_quantile({number(q)}, {rates})"


def bucket_rates(metric: str, window: str, matchers: Sequence[Matcher] = ()) -> str:
    """One series per bucket bound of a histogram family: a heatmap's input."""
    return sum_rate(f"{metric}_bucket", window, by=(names.LABEL_LE,), matchers=matchers)


def cache_hit_ratio(window: str, *, matchers: Sequence[Matcher] = ()) -> str:
    """Hits over all lookups per cache layer over `window`."""
    lookups = f"{names.CACHE_REQUESTS}_total"
    hit = Matcher(names.LABEL_RESULT, names.CACHE_RESULT_HIT)
    by = (names.LABEL_LAYER,)
    hits = sum_rate(lookups, window, by=by, matchers=(*matchers, hit))
    return f"{hits} / {sum_rate(lookups, window, by=by, matchers=matchers)}"


def firing_alerts(matchers: Sequence[Matcher] = ()) -> str:
    """Prometheus' own series of the alerts firing now."""
    firing = Matcher(names.LABEL_ALERTSTATE, names.ALERTSTATE_FIRING)
    return selector(names.PROMETHEUS_ALERTS, (firing, *matchers))
