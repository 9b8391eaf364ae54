"""The receiver's own counters and the outbox gauge, on a `prometheus_client` registry.

The families are registered once per registry (a test's fresh one, or the default), so
a second receiver app in the same process (a restart in a test) shares them.
"""

from __future__ import annotations

import enum
import threading
import weakref

from prometheus_client import Counter, Gauge
from prometheus_client.registry import CollectorRegistry

from collector import conventions as names

__all__ = ["ReceiverMetrics", "RejectReason"]


class RejectReason(enum.StrEnum):
    """Why a notification was refused; the `reason` label."""

    UNAUTHORIZED = "unauthorized"
    TOO_LARGE = "too_large"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"


_Families = tuple[Counter, Counter, Counter, Counter, Counter, Counter, Counter, Gauge]
_families: weakref.WeakKeyDictionary[CollectorRegistry, _Families] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _register(registry: CollectorRegistry) -> _Families:
    dest = (names.LABEL_DESTINATION,)
    return (
        Counter(names.RECEIVER_ALERTS_RECEIVED, "Alert events in valid notifications.",
                registry=registry),
        Counter(names.RECEIVER_ALERTS_STORED, "Alert events stored for the first time.",
                registry=registry),
        Counter(names.RECEIVER_ALERTS_DUPLICATE, "Alert events that were already stored.",
                registry=registry),
        Counter(names.RECEIVER_NOTIFICATIONS_REJECTED, "Notifications refused, by reason.",
                (names.LABEL_REASON,), registry=registry),
        Counter(names.RECEIVER_FORWARD_ATTEMPTS, "Delivery attempts, by destination.", dest,
                registry=registry),
        Counter(names.RECEIVER_FORWARD_FAILURES, "Failed delivery attempts, by destination.",
                dest, registry=registry),
        Counter(names.RECEIVER_FORWARD_DEAD, "Deliveries given up on, by destination.", dest,
                registry=registry),
        Gauge(names.RECEIVER_OUTBOX_DEPTH, "Deliveries neither delivered nor dead yet.",
              registry=registry),
    )  # fmt: skip


class ReceiverMetrics:
    """Counters the handlers and the forwarder bump; each call is a lock and an add."""

    def __init__(self, registry: CollectorRegistry) -> None:
        with _lock:
            families = _families.get(registry)
            if families is None:
                families = _families[registry] = _register(registry)
        (
            self.received,
            self.stored,
            self.duplicates,
            rejected,
            self._attempts,
            self._failures,
            self._dead,
            self.outbox_depth,
        ) = families
        self._rejected = {reason: rejected.labels(reason.value) for reason in RejectReason}

    def rejected(self, reason: RejectReason) -> None:
        """Count one refused notification."""
        self._rejected[reason].inc()

    def attempt(self, destination: str, *, failed: bool, dead: bool) -> None:
        """Count one delivery attempt to `destination` and how it went."""
        self._attempts.labels(destination).inc()
        if failed:
            self._failures.labels(destination).inc()
        if dead:
            self._dead.labels(destination).inc()
