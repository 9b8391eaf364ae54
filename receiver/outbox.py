"""The outbox of deliveries: claim with a lease, then settle as delivered, retry or dead.

    outbox = Outbox(db, clock=time.time, lease_s=30.0)
    for claim in await outbox.claim(limit=50):
        ...                                    # send claim.alert to claim.destination
        await outbox.delivered(claim)          # or retryat(...) / dead(...)

At least once: a claim sets `locked_until` (now + lease_s) and a fresh token; a
delivery whose holder died (the process was killed mid-send) is claimed again once the
lease expires, so a restart loses nothing, and the destination may see an event twice
(the `Idempotency-Key` header lets it tell). Settling checks the token, so a holder
whose lease was taken over changes nothing. The leasing queries are
`runtime.leases.LeasedTable`'s, shared with the campaign's job queue.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from receiver.models import AlertEvent, DeliveryStatus, OutboxDelivery, utc
from receiver.payload import Alert
from receiver.storage import ALERT_COLUMNS, alert_of
from runtime.database import Database
from runtime.leases import LeasedTable, at

__all__ = ["ClaimedDelivery", "DeliveryView", "Outbox"]

_MAX_ERROR_CHARS = 1000
_DELIVERIES = LeasedTable(OutboxDelivery, pending=DeliveryStatus.PENDING.value)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this process holds until its lease ends; `attempts` counts this one."""

    id: int
    destination: str
    delivery_key: str
    attempts: int
    token: str
    alert: Alert


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """An outbox row as tests and operators see it."""

    id: int
    destination: str
    delivery_key: str
    status: DeliveryStatus
    attempts: int
    due_at: datetime
    last_error: str | None


class Outbox:
    """Claim and settle deliveries; every method is one short transaction.

    `clock()` gives seconds since the epoch; `lease_s` is how long a claim is held.
    """

    def __init__(
        self, db: Database, *, clock: Callable[[], float] = time.time, lease_s: float = 30.0
    ) -> None:
        self.db = db
        self.clock = clock
        self.lease_s = lease_s

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries, oldest due first, for `lease_s` seconds."""
        token = uuid.uuid4().hex
        async with self.db.session() as session:
            leased = await _DELIVERIES.claim(
                session, limit=limit, now_s=self.clock(), lease_s=self.lease_s, token=token
            )
            if not leased:
                return []
            ids = [row.id for row in leased]
            rows = (
                await session.execute(
                    select(
                        OutboxDelivery.id.label("delivery_id"),
                        OutboxDelivery.destination,
                        OutboxDelivery.delivery_key,
                        OutboxDelivery.attempts,
                        *ALERT_COLUMNS,
                    )
                    .join(AlertEvent, AlertEvent.id == OutboxDelivery.event_id)
                    .where(OutboxDelivery.id.in_(ids))
                    .order_by(OutboxDelivery.due_at, OutboxDelivery.id)
                )
            ).all()
            await session.commit()
        return [
            ClaimedDelivery(
                r.delivery_id, r.destination, r.delivery_key, r.attempts, token, alert_of(r)
            )
            for r in rows
        ]

    async def _settle(self, claim: ClaimedDelivery, **values: Any) -> bool:
        return await _DELIVERIES.settle(self.db, claim.id, claim.token, **values)

    async def delivered(self, claim: ClaimedDelivery) -> bool:
        """Mark delivered; False if the lease was lost meanwhile."""
        return await self._settle(
            claim, status=DeliveryStatus.DELIVERED.value, finished_at=at(self.clock())
        )

    async def retry_in(self, claim: ClaimedDelivery, delay_s: float, error: str) -> bool:
        """Release the claim; the delivery is due again in `delay_s` seconds."""
        return await self._settle(
            claim, due_at=at(self.clock() + delay_s), last_error=error[:_MAX_ERROR_CHARS]
        )

    async def dead(self, claim: ClaimedDelivery, error: str) -> bool:
        """Give up on the delivery (dead letter); it stays in the table for inspection."""
        return await self._settle(
            claim,
            status=DeliveryStatus.DEAD.value,
            last_error=error[:_MAX_ERROR_CHARS],
            finished_at=at(self.clock()),
        )

    async def depth(self) -> int:
        """Deliveries not yet delivered nor dead (due or not, leased or not)."""
        async with self.db.session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.status == DeliveryStatus.PENDING.value)
            )
        return int(count or 0)

    async def next_ready_in_s(self) -> float | None:
        """Seconds until some pending delivery can be claimed (<= 0: now); None if none."""
        return await _DELIVERIES.next_ready_in_s(self.db, self.clock())

    async def deliveries(self) -> list[DeliveryView]:
        """Every outbox row, oldest first (for tests and inspection; unbounded)."""
        async with self.db.session() as session:
            rows = await session.scalars(select(OutboxDelivery).order_by(OutboxDelivery.id))
            return [
                DeliveryView(
                    r.id,
                    r.destination,
                    r.delivery_key,
                    DeliveryStatus(r.status),
                    r.attempts,
                    utc(r.due_at),
                    r.last_error,
                )
                for r in rows
            ]
