"""Mergeable quantile sketches with a relative-error guarantee (DDSketch-style, pure core).

The buckets are those of Prometheus native histograms (base 2**(2**-schema)), so the same
bins feed the 1 Hz snapshots and the native histogram that `/metrics` exposes.

Values are non-negative floats, typically latencies in seconds. For every q in [0, 1] the
estimate is within ``relative_accuracy`` of the exact inverted-CDF quantile (the r-th smallest
sample, r = max(1, ceil(q * n)), as ``numpy.quantile(..., method="inverted_cdf")``); counts are
exact and merging is exact. Memory is one dict entry per occupied bucket: about
64 * log2(max / min) entries at schema 6 (1 %), e.g. ~1,900 for 1 us .. 1000 s.

Caveats: subnormal inputs (< 2.2e-308) carry an extra absolute error of at most 2**-1074 (one
step of the float grid there). Below relative_accuracy ~1e-6 the bound may be exceeded by up to
~2e-13, as float rounding of logarithms outgrows the internal 1e-7 * accuracy safety margin.
"""

from __future__ import annotations

from collector.log_mapping import LogMapping, native_schema_for
from collector.sketch import QuantileSketch
from collector.windowed_sketch import WindowedSketch

__all__ = ["LogMapping", "QuantileSketch", "WindowedSketch", "native_schema_for"]
