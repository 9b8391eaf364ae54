"""Which subscribers get this tick's frame and which are dropped: the hub never waits.

Pure: the server passes in how many bytes each subscriber still has queued (its transport's
write buffer) and writes the frame to those in `plan.send`; those in `plan.drop` are over
`max_buffered_bytes` and must be closed without another write. One pass, O(subscribers) per
tick, no per-subscriber await: a stalled reader costs the others nothing.

    fanout = Fanout(max_buffered_bytes=16 * 1024)
    plan = fanout.plan({conn: conn.transport.get_write_buffer_size() for conn in conns})
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["DEFAULT_MAX_BUFFERED_BYTES", "Fanout", "Plan"]

DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024
"""A subscriber more than this behind (about 8 messages of a 3-service demo) is dropped."""

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Plan(Generic[K]):
    """`send`: write the frame to these; `drop`: close these, they fell too far behind."""

    send: tuple[K, ...]
    drop: tuple[K, ...]


class Fanout(Generic[K]):
    """Bounded per-subscriber buffers; counts what was sent and dropped."""

    def __init__(self, max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES) -> None:
        if max_buffered_bytes < 0:
            raise ValueError(f"max_buffered_bytes: expected >= 0 bytes, got {max_buffered_bytes!r}")
        self.max_buffered_bytes = max_buffered_bytes
        self.sent_total = 0
        self.dropped_total = 0

    def plan(self, buffered: Mapping[K, int]) -> Plan[K]:
        """Split subscribers by their queued bytes: <= the bound get the frame, > it are dropped."""
        limit = self.max_buffered_bytes
        send = tuple(key for key, size in buffered.items() if size <= limit)
        drop = tuple(key for key, size in buffered.items() if size > limit)
        self.sent_total += len(send)
        self.dropped_total += len(drop)
        return Plan(send, drop)
