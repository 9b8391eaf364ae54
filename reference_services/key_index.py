"""Find the keys a glob pattern can match without scanning them all. Pure, no I/O.

Keys are `:`-separated (`course:12:user:7`). `SegmentIndex` files every key under each of
its segments, by position from the start and from the end. A pattern's literal segments
before its first wildcard segment and after its last one (`course:*:user:7` gives
`course` at 0, `user` at -2 and `7` at -1) each name a set of keys that contains every
match; the smallest of them is checked with fnmatch. A pattern with no literal segment
falls back to all keys. `*` may span `:`, as in Redis, which is why only the segments
outside the wildcards are used.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator

__all__ = ["SegmentIndex"]

_GLOB_CHARS = frozenset("*?[")
_SEPARATOR = ":"


def _positions(key: str) -> Iterator[tuple[int, str]]:
    parts = key.split(_SEPARATOR)
    count = len(parts)
    for i, part in enumerate(parts):
        yield i, part
        yield i - count, part


def _literal_positions(pattern: str) -> list[tuple[int, str]]:
    """(position, segment) pairs every key matching `pattern` has; [] when unknown."""
    if "[" in pattern:  # a character class may hold the separator: no safe split
        return []
    parts = pattern.split(_SEPARATOR)
    wild = [i for i, part in enumerate(parts) if _GLOB_CHARS.intersection(part)]
    if not wild:
        return [(i, part) for i, part in enumerate(parts)]
    head = [(i, part) for i, part in enumerate(parts[: wild[0]])]
    tail_start = wild[-1] + 1
    tail = [(i - len(parts), parts[i]) for i in range(tail_start, len(parts))]
    return head + tail


class SegmentIndex:
    """A set of keys with glob lookups that cost O(candidates), not O(keys)."""

    def __init__(self) -> None:
        self._by_position: dict[tuple[int, str], set[str]] = {}
        self._keys: set[str] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        for position in _positions(key):
            self._by_position.setdefault(position, set()).add(key)

    def discard(self, key: str) -> None:
        if key not in self._keys:
            return
        self._keys.remove(key)
        for position in _positions(key):
            bucket = self._by_position.get(position)
            if bucket is None:
                continue
            bucket.discard(key)
            if not bucket:
                del self._by_position[position]

    def matching(self, patterns: Iterable[str]) -> set[str]:
        """The keys that match any of `patterns` (fnmatch, case-sensitive, Redis syntax)."""
        found: set[str] = set()
        for pattern in patterns:
            candidates: set[str] = self._keys
            for position in _literal_positions(pattern):
                bucket = self._by_position.get(position)
                if bucket is None:
                    candidates = set()
                    break
                if len(bucket) < len(candidates):
                    candidates = bucket
            found.update(key for key in candidates if fnmatch.fnmatchcase(key, pattern))
        return found
