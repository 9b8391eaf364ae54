"""Validation and bin arithmetic shared by the quantile sketches (pure, no I/O).

Every check raises ValueError naming the field, the bad value and what was expected, e.g.
"count: expected an integer >= 1, got 0"; bins are `{bucket key: count}` dicts, with keys
as strings in JSON.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, SupportsIndex

if TYPE_CHECKING:
    from collector.log_mapping import LogMapping

__all__ = [
    "add_into",
    "bins_json",
    "check_accuracy",
    "check_accuracy_match",
    "check_bins",
    "check_fields",
    "check_int",
    "check_q",
    "invalid_value",
]


def invalid_value(name: str, value: object) -> ValueError:
    """The error for a sample that is negative, infinite or not a number."""
    return ValueError(f"{name}: expected a finite value >= 0, got {value!r}")


def check_int(value: object, field: str, minimum: int, maximum: int | None = None) -> int:
    """`value` as an int in [minimum, maximum]; bools, floats and strings are refused."""
    if type(value) is not int:  # exact type: rejects bool, float and str
        if isinstance(value, bool) or not isinstance(value, SupportsIndex):
            raise ValueError(f"{field}: expected an integer >= {minimum}, got {value!r}")
        value = operator.index(value)
    if value < minimum or (maximum is not None and value > maximum):
        limits = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{field}: expected an integer {limits}, got {value!r}")
    return value


def check_accuracy(value: object, field: str) -> float:
    """`value` as a relative accuracy, a float in (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise ValueError(f"{field}: expected a float in (0, 1), got {value!r}")
    return float(value)


def check_fields(data: object, prefix: str, required: set[str]) -> Mapping[str, object]:
    """`data` as a mapping with exactly the `required` keys (`prefix` starts error paths)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{prefix or 'data'}: expected a mapping, got {data!r}")
    missing = sorted(required - data.keys())
    if missing:
        raise ValueError(f"{prefix}{missing[0]}: missing")
    unknown = sorted(map(str, set(data) - required))
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown field")
    return data


def check_q(q: float) -> None:
    """Refuse a quantile outside [0, 1]."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q: expected a quantile in [0, 1], got {q!r}")


def check_accuracy_match(mine: LogMapping, other: LogMapping) -> None:
    """Refuse to merge sketches of different accuracies."""
    if mine.relative_accuracy != other.relative_accuracy:
        raise ValueError(
            f"relative_accuracy: cannot merge sketches with accuracy {other.relative_accuracy!r} "
            f"into accuracy {mine.relative_accuracy!r}"
        )


def check_bins(bins: object, field: str, mapping: LogMapping, str_keys: bool) -> dict[int, int]:
    """Validate ``{key: count}`` (string keys when from JSON); zero counts are dropped."""
    if not isinstance(bins, Mapping):
        raise ValueError(f"{field}: expected a mapping of bucket key to count, got {bins!r}")
    checked: dict[int, int] = {}
    for raw_key, raw_count in bins.items():
        if str_keys:
            try:
                key = int(raw_key) if isinstance(raw_key, str) else None
            except ValueError:
                key = None
            if key is None or str(key) != raw_key:
                raise ValueError(f"{field}: expected integer keys as strings, got {raw_key!r}")
        else:
            key = check_int(raw_key, f"{field} key", -(2**63))
        if not mapping.min_key <= key <= mapping.max_key:
            raise ValueError(
                f"{field}: key {raw_key!r} is outside [{mapping.min_key}, {mapping.max_key}]"
            )
        count = check_int(raw_count, f"{field}[{raw_key!r}]", 0)
        if count:
            checked[key] = count
    return checked


def add_into(target: dict[int, int], source: Mapping[int, int]) -> None:
    """Add the counts of `source` into `target` (unchecked, O(len(source)))."""
    get = target.get
    for key, count in source.items():
        target[key] = get(key, 0) + count


def bins_json(bins: Mapping[int, int]) -> dict[str, int]:
    """`bins` for JSON: string keys, sorted, so equal bins serialize identically."""
    return {str(key): bins[key] for key in sorted(bins)}
