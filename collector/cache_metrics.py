"""Cache lookups per layer (l1, l2, ...) and result (hit, miss, error): plain integer counts.

Services call `hit(layer)`, `miss(layer)` or `error(layer)`; the exposition renders them as
`loadwatch_cache_requests_total{service, layer, result}` and snapshots take the hit ratio.
A lookup answered by any layer counts as one hit of that layer; a lookup answered by none
counts one miss on each layer it tried.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["CacheCounters", "CacheResult"]


class CacheResult(Enum):
    """The outcome of one lookup in one cache layer."""

    HIT = "hit"
    MISS = "miss"
    ERROR = "error"


class CacheCounters:
    """Counts of lookups by (layer, result) for one service. Count from one thread (the
    event loop); `rows` may be read from any thread."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, CacheResult], int] = {}
        self.hits = 0
        self.lookups = 0

    def _add(self, layer: str, result: CacheResult) -> None:
        key = (layer, result)
        self.counts[key] = self.counts.get(key, 0) + 1

    def hit(self, layer: str) -> None:
        """A lookup answered by `layer`; ends the lookup."""
        self._add(layer, CacheResult.HIT)
        self.hits += 1
        self.lookups += 1

    def miss(self, layer: str, *, final: bool = False) -> None:
        """`layer` did not have the key; `final=True` when no later layer will be tried."""
        self._add(layer, CacheResult.MISS)
        if final:
            self.lookups += 1

    def error(self, layer: str, *, final: bool = False) -> None:
        """`layer` failed (e.g. Redis unreachable) and was skipped; `final` as for `miss`."""
        self._add(layer, CacheResult.ERROR)
        if final:
            self.lookups += 1

    def rows(self, service: str) -> list[tuple[tuple[str, str, str], float]]:
        """(service, layer, result) label values with counts, sorted, for exposition."""
        counts = list(self.counts.items())  # one C call: safe beside the loop's increments
        return sorted(((service, layer, result.value), count) for (layer, result), count in counts)
