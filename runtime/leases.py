"""Leased rows: claim due rows of a table for a while, settle them by token, find the next.

    table = LeasedTable(Job, pending=JobStatus.PENDING.value)
    async with db.session() as session:
        rows = await table.claim(session, limit=10, now_s=clock(), lease_s=30.0, token=token)
    await table.settle(db, row.id, token, status="done")   # False: the lease was lost

The receiver's outbox and the campaign's job queue keep their work in tables whose rows
carry `id`, `status`, `due_at`, `locked_until`, `claim_token` and `attempts`. A claim sets
`locked_until` (now + lease) and a fresh token and counts an attempt; a row whose holder
died is claimable again once its lease ends (at least once: handlers must be idempotent).
Settling checks the token, so a holder whose lease was taken over changes nothing.
On PostgreSQL a claim is `SELECT ... FOR UPDATE SKIP LOCKED` then an UPDATE of those ids
(claimers never wait on each other); on SQLite, where one writer runs at a time, a single
`UPDATE ... WHERE id IN (SELECT ... LIMIT n)`, which takes the write lock first and so
waits out the busy timeout instead of failing on a stale read snapshot. Each call is one
short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.database import Database

__all__ = ["LeasedTable", "at"]


def at(seconds: float) -> datetime:
    """`seconds` since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class LeasedTable:
    """The leasing queries of one ORM model; `pending` is its status of unfinished rows."""

    model: Any
    pending: str

    def claimable(self, now: datetime) -> Any:
        """SQL condition: pending, due by `now`, and not leased (or the lease ended)."""
        m = self.model
        return and_(
            m.status == self.pending,
            m.due_at <= now,
            or_(m.locked_until.is_(None), m.locked_until < now),
        )

    async def claim(
        self,
        session: AsyncSession,
        *,
        limit: int,
        now_s: float,
        lease_s: float,
        token: str,
        columns: Sequence[Any] = (),
    ) -> list[Row[Any]]:
        """Lease up to `limit` claimable rows, oldest due first, until `now_s + lease_s`.

        Commits its own transaction on `session`. Returns `(id, due_at, *columns)` of each
        leased row, oldest due first; `attempts` there already counts this claim.
        """
        m = self.model
        now = at(now_s)
        lease = update(m).values(
            locked_until=at(now_s + lease_s), claim_token=token, attempts=m.attempts + 1
        )
        candidates = select(m.id).where(self.claimable(now)).order_by(m.due_at, m.id).limit(limit)
        returned = (m.id, m.due_at, *columns)
        async with session.begin():
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                ids = list(await session.scalars(candidates.with_for_update(skip_locked=True)))
                if not ids:
                    return []
                leased = lease.where(m.id.in_(ids))
            else:
                leased = lease.where(m.id.in_(candidates.scalar_subquery()))
            rows = list((await session.execute(leased.returning(*returned))).all())
        return sorted(rows, key=lambda row: (row.due_at, row.id))

    async def settle(self, db: Database, row_id: int, token: str, **values: Any) -> bool:
        """Release the lease of a pending row and set `values`; False if the lease was lost."""
        m = self.model
        async with db.session() as session, session.begin():
            result = await session.execute(
                update(m)
                .where(m.id == row_id, m.claim_token == token, m.status == self.pending)
                .values(locked_until=None, claim_token=None, **values)
            )
        return bool(getattr(result, "rowcount", 0))

    async def next_ready_in_s(self, db: Database, now_s: float) -> float | None:
        """Seconds from `now_s` until some pending row is claimable (<= 0: now); None if none."""
        m = self.model
        ready_at = case((m.locked_until > m.due_at, m.locked_until), else_=m.due_at)
        async with db.session() as session:
            first = await session.scalar(select(func.min(ready_at)).where(m.status == self.pending))
        if first is None:
            return None
        return _utc(first).timestamp() - now_s
