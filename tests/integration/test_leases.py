"""Leased rows on SQLite and real PostgreSQL: concurrent claimers never share a row, the
oldest due comes first, a lost lease settles nothing, and the next ready time is right."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import DateTime, Integer, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from reference_services.settings import ServiceSettings
from runtime.database import Database, make_engine
from runtime.leases import LeasedTable, at

pytestmark = pytest.mark.integration

NOW_S = 1_700_000_000.0
LEASE_S = 30.0


class _Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012


class _Row(_Base):
    __tablename__ = "lease_test_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    due_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(String(32), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


TABLE = LeasedTable(_Row, pending="pending")


@dataclass
class Rows:
    db: Database

    async def add(self, *due_s: float) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(insert(_Row), [{"due_at": at(s)} for s in due_s])

    async def claim(self, limit: int, now_s: float = NOW_S) -> tuple[str, list[int]]:
        token = uuid.uuid4().hex
        async with self.db.session() as session:
            rows = await TABLE.claim(
                session, limit=limit, now_s=now_s, lease_s=LEASE_S, token=token
            )
        return token, [row.id for row in rows]

    async def status(self, row_id: int) -> str:
        async with self.db.session() as session:
            return str(await session.scalar(select(_Row.status).where(_Row.id == row_id)))


@pytest.fixture(params=["sqlite", "postgresql"])
async def rows(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rows]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'leases.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(make_engine(ServiceSettings.build("campaign", database_url=url)))
    async with db.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.drop_all)
        await conn.run_sync(_Base.metadata.create_all)
    try:
        yield Rows(db)
    finally:
        async with db.engine.begin() as conn:
            await conn.run_sync(_Base.metadata.drop_all)
        await db.close()


async def test_concurrent_claimers_lease_every_due_row_exactly_once(rows: Rows) -> None:
    await rows.add(*(NOW_S - i for i in range(60)))

    async def claimer() -> list[int]:
        leased: list[int] = []
        while batch := (await rows.claim(limit=7))[1]:
            leased.extend(batch)
        return leased

    batches = await asyncio.gather(*(claimer() for _ in range(4)))
    counts = Counter(row_id for batch in batches for row_id in batch)
    assert sorted(counts) == list(range(1, 61))
    assert set(counts.values()) == {1}, "a row was leased twice"


async def test_the_oldest_due_come_first_and_future_rows_wait(rows: Rows) -> None:
    await rows.add(NOW_S - 5, NOW_S - 50, NOW_S + 60, NOW_S - 20)
    _, first = await rows.claim(limit=2)
    _, rest = await rows.claim(limit=10)
    assert first == [2, 4]
    assert rest == [1], "the row due in 60 s is not claimable yet"
    assert await TABLE.next_ready_in_s(rows.db, NOW_S) == pytest.approx(LEASE_S)


async def test_a_lost_lease_settles_nothing(rows: Rows) -> None:
    await rows.add(NOW_S)
    stale, _ = await rows.claim(limit=1)
    fresh, taken_over = await rows.claim(limit=1, now_s=NOW_S + LEASE_S + 1)
    assert taken_over == [1], "an expired lease is claimable again"
    assert not await TABLE.settle(rows.db, 1, stale, status="done")
    assert await rows.status(1) == "pending"
    assert await TABLE.settle(rows.db, 1, fresh, status="done")
    assert await rows.status(1) == "done"
    assert await TABLE.next_ready_in_s(rows.db, NOW_S) is None
