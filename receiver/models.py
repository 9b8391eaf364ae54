"""The receiver's tables: one row per alert event, one outbox row per (event, destination).

`alert_events.event_key` is unique: the database, not the handler, decides what is a
duplicate, so concurrent posts of the same event (and Alertmanager's retries) store it
once. Outbox rows are written in the same transaction as their event, so an event is
stored if and only if its deliveries are queued.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AlertEvent", "DeliveryStatus", "OutboxDelivery", "ReceiverBase", "utc"]


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DeliveryStatus(enum.StrEnum):
    """An outbox row's state: pending (to try, maybe leased), delivered, or dead (gave up)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class ReceiverBase(DeclarativeBase):
    """Metadata of the receiver's schema."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class AlertEvent(ReceiverBase):
    __tablename__ = "alert_events"
    __table_args__ = (
        Index("idx_alert_events_fingerprint", "fingerprint", "starts_at"),
        Index("idx_alert_events_service", "service"),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    alertname: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    annotations: Mapped[dict[str, str]] = mapped_column(JSON)
    generator_url: Mapped[str] = mapped_column(Text)
    group_key: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class OutboxDelivery(ReceiverBase):
    __tablename__ = "alert_outbox"
    __table_args__ = (Index("idx_alert_outbox_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(64))
    delivery_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
