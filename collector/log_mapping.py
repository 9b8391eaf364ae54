"""The logarithmic bucket grid of the quantile sketches: Prometheus native-histogram buckets.

Pure: `LogMapping(relative_accuracy)` picks the coarsest native schema within the accuracy;
`key(value)` costs one log, `value(key)` one exp.
"""

from __future__ import annotations

import math
import sys

from collector.sketch_checks import check_accuracy

__all__ = ["LogMapping", "native_schema_for"]

_log = math.log
_ceil = math.ceil
_exp = math.exp
_INF = math.inf
_FLOAT_MAX = sys.float_info.max
_MIN_POSITIVE = 5e-324  # smallest subnormal
_MARGIN = 1e-7  # internal accuracy is relative_accuracy * (1 - _MARGIN)
_MIN_SCHEMA = -4  # the coarsest native-histogram schema: growth factor 65,536
_MAX_NATIVE_SCHEMA = 8  # the finest schema Prometheus accepts


def native_schema_for(relative_accuracy: float) -> int:
    """The coarsest base-2 schema s (growth 2**(2**-s)) whose accuracy (g - 1) / (g + 1) is
    within `relative_accuracy` (less a 1e-7 safety margin for float rounding): 6 for 1 %."""
    target = relative_accuracy * (1.0 - _MARGIN)
    schema = _MIN_SCHEMA
    while _schema_accuracy(schema) > target:
        schema += 1
    return schema


def _schema_accuracy(schema: int) -> float:
    growth: float = 2.0 ** (2.0**-schema)
    return (growth - 1.0) / (growth + 1.0)


class LogMapping:
    """Logarithmic mapping on Prometheus' native-histogram bucket grid.

    The growth factor is gamma = 2**(2**-schema), with the coarsest schema whose accuracy
    (gamma - 1) / (gamma + 1) is within ``relative_accuracy`` (schema 6, 0.54 %, for 1 %).
    Bucket ``k`` holds values in (gamma**(k-1), gamma**k], exactly Prometheus' native bucket
    ``k`` of that schema, so a sketch's bins export as a native histogram without loss
    (``native_schema`` is None past schema 8, the finest Prometheus accepts).
    ``value(k)`` is within the accuracy of every value in bucket ``k``. Keys fit any positive
    finite float (about -65,600 .. 65,500 at schema 6).
    """

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        self.relative_accuracy: float = check_accuracy(relative_accuracy, "relative_accuracy")
        self.schema: int = native_schema_for(self.relative_accuracy)
        gamma = 2.0 ** (2.0**-self.schema)
        self._ln_gamma: float = math.log(2.0) * 2.0**-self.schema
        self.multiplier: float = 1.0 / self._ln_gamma
        # ln(2 / (1 + gamma)): the representative 2 * gamma**k / (1 + gamma) is off by at most
        # (gamma - 1) / (gamma + 1) from both ends of the bucket.
        self._rep_offset: float = math.log(2.0 / (1.0 + gamma))
        self.min_key: int = self.key(_MIN_POSITIVE)
        self.max_key: int = self.key(_FLOAT_MAX)

    @property
    def native_schema(self) -> int | None:
        """The Prometheus native-histogram schema of the buckets, or None past schema 8."""
        return self.schema if self.schema <= _MAX_NATIVE_SCHEMA else None

    def key(self, value: float) -> int:
        """Bucket key of a positive finite ``value``: ceil(ln(value) * multiplier)."""
        return _ceil(_log(value) * self.multiplier)

    def value(self, key: int) -> float:
        """Representative of bucket ``key``, within relative_accuracy of its values."""
        try:
            return _exp(key * self._ln_gamma + self._rep_offset)
        except OverflowError:  # top bucket: clamping to the largest float only reduces error
            return _FLOAT_MAX

    def lower_bound(self, key: int) -> float:
        """Exclusive lower edge of bucket ``key``: gamma**(key - 1) (0.0 on underflow)."""
        return self.upper_bound(key - 1)

    def upper_bound(self, key: int) -> float:
        """Inclusive upper edge of bucket ``key``: gamma**key (inf on overflow)."""
        try:
            return _exp(key * self._ln_gamma)
        except OverflowError:
            return _INF
