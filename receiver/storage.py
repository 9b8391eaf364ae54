"""Store alert events once each, queue their deliveries, and read current state and history.

    store = AlertStore(db, destinations=("team-chat",), clock=time.time)
    result = await store.store(payload)     # one transaction; raises when the database is down

`store` is one transaction: an `INSERT ... ON CONFLICT (event_key) DO NOTHING RETURNING
id, event_key` for the events, then one outbox row per new event and destination. Both
are one cached statement run with many parameter sets (SQLAlchemy's "insertmanyvalues":
pages of up to 1,000 rows); a `.values([...])` per request cost ~50 ms of compiling for
50 rows instead of ~5 ms in all. It returns only after the commit, so a caller that
answers 2xx afterwards never acknowledges an event that is not durable. Duplicates
(retries, repeats, concurrent posts of the same event) are decided by the unique key in
the database, so they cost one index probe each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from collector import conventions as names
from receiver.keys import delivery_key, event_key
from receiver.models import AlertEvent, DeliveryStatus, OutboxDelivery, utc
from receiver.payload import Alert, AlertStatus, WebhookPayload
from runtime.database import Database

__all__ = ["ALERT_COLUMNS", "AlertStore", "StoreResult", "StoredEvent", "alert_of"]

_RESOLVED_LAST = case((AlertEvent.status == AlertStatus.RESOLVED.value, 1), else_=0)
"""Of two events with the same start, the resolution is the later one."""


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Alert events of one notification: newly stored, and already stored before."""

    stored: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An alert event as GET /alerts shows it."""

    alert: Alert
    event_key: str
    received_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON values; times as ISO 8601 strings, null for an open end."""
        a = self.alert
        return {
            "fingerprint": a.fingerprint,
            "status": a.status.value,
            "startsAt": a.starts_at.isoformat(),
            "endsAt": a.ends_at.isoformat() if a.ends_at is not None else None,
            "labels": dict(a.labels),
            "annotations": dict(a.annotations),
            "generatorURL": a.generator_url,
            "eventKey": self.event_key,
            "receivedAt": self.received_at.isoformat(),
        }


ALERT_COLUMNS = (
    AlertEvent.fingerprint,
    AlertEvent.status,
    AlertEvent.starts_at,
    AlertEvent.ends_at,
    AlertEvent.labels,
    AlertEvent.annotations,
    AlertEvent.generator_url,
)
"""The alert_events columns `alert_of` reads."""


def alert_of(row: Any) -> Alert:
    """The Alert held by an alert_events row (or a row with the same columns)."""
    return Alert(
        status=AlertStatus(row.status),
        labels=row.labels,
        annotations=row.annotations,
        starts_at=utc(row.starts_at),
        ends_at=utc(row.ends_at) if row.ends_at is not None else None,
        generator_url=row.generator_url,
        fingerprint=row.fingerprint,
    )


def _insert_new_events(dialect: Any) -> Any:
    """Insert the events not stored yet, returning the new ones' id and key."""
    return (
        dialect.insert(AlertEvent)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(AlertEvent.id, AlertEvent.event_key)
    )


_INSERT_NEW = {"postgresql": _insert_new_events(postgresql), "sqlite": _insert_new_events(sqlite)}


def _insert_new(conn: AsyncConnection) -> Any:
    return _INSERT_NEW["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]


_EVENT_COLUMNS = (*ALERT_COLUMNS, AlertEvent.event_key, AlertEvent.received_at)


class AlertStore:
    """The alert_events and alert_outbox tables of one receiver.

    `destinations`: the names every new event is queued for. `clock()`: seconds since the
    epoch (the received and due times).
    """

    def __init__(
        self,
        db: Database,
        *,
        destinations: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.destinations = tuple(destinations)
        self.clock = clock

    async def store(self, payload: WebhookPayload) -> StoreResult:
        """Insert the payload's new events and their deliveries; returns after the commit."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        rows: dict[str, dict[str, Any]] = {}
        for alert in payload.alerts:
            key = event_key(alert)
            rows.setdefault(key, _event_row(alert, key, payload.group_key, now))
        if not rows:
            return StoreResult(0, 0)
        # Sorted by key: concurrent transactions take the unique-index entries in one
        # order, so two posts sharing events wait for each other instead of deadlocking.
        values = [rows[key] for key in sorted(rows)]
        async with self.db.engine.begin() as conn:
            result = await conn.execute(_insert_new(conn), values)
            new = [(r.id, r.event_key) for r in result]
            if new and self.destinations:
                await conn.execute(
                    insert(OutboxDelivery),
                    [
                        {
                            "event_id": event_id,
                            "destination": name,
                            "delivery_key": delivery_key(key, name),
                            "status": DeliveryStatus.PENDING.value,
                            "attempts": 0,
                            "due_at": now,
                        }
                        for event_id, key in new
                        for name in self.destinations
                    ],
                )
        return StoreResult(stored=len(new), duplicates=len(payload.alerts) - len(new))

    async def current(
        self, *, status: AlertStatus | None = None, service: str | None = None, limit: int = 1000
    ) -> list[StoredEvent]:
        """The latest event of each fingerprint (newest start first), filtered."""
        latest = func.row_number().over(
            partition_by=AlertEvent.fingerprint,
            order_by=(AlertEvent.starts_at.desc(), _RESOLVED_LAST.desc(), AlertEvent.id.desc()),
        )
        inner: Select[Any] = select(*_EVENT_COLUMNS, latest.label("rank"))
        if service is not None:
            inner = inner.where(AlertEvent.service == service)
        ranked = inner.subquery()
        query = select(ranked).where(ranked.c.rank == 1)
        if status is not None:
            query = query.where(ranked.c.status == status.value)
        query = query.order_by(ranked.c.starts_at.desc(), ranked.c.fingerprint).limit(limit)
        (rows,) = await self.db.read((query, {}))
        return [StoredEvent(alert_of(r), r.event_key, utc(r.received_at)) for r in rows]

    async def history(self, fingerprint: str, limit: int = 1000) -> list[StoredEvent]:
        """Every stored event of `fingerprint`, oldest first."""
        query = (
            select(*_EVENT_COLUMNS)
            .where(AlertEvent.fingerprint == fingerprint)
            .order_by(AlertEvent.starts_at, _RESOLVED_LAST, AlertEvent.id)
            .limit(limit)
        )
        (rows,) = await self.db.read((query, {}))
        return [StoredEvent(alert_of(r), r.event_key, utc(r.received_at)) for r in rows]


def _event_row(alert: Alert, key: str, group_key: str, now: datetime) -> dict[str, Any]:
    return {
        "event_key": key,
        "fingerprint": alert.fingerprint,
        "status": alert.status.value,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "alertname": alert.labels.get("alertname", ""),
        "service": alert.labels.get(names.LABEL_SERVICE, ""),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "group_key": group_key,
        "received_at": now,
    }
