"""SQLAlchemy statement timing and pool gauges on a real SQLite database (aiosqlite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from collector.db import instrument_engine, pool_sample, statement_name
from collector.instrumentation import Instrumentation
from collector.sla import default_sla


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT id FROM courses WHERE id = ?", "SELECT courses"),
        ('select * from "Users" u join x on 1', "SELECT users"),
        ("INSERT INTO course_enrollments (a) VALUES (?)", "INSERT course_enrollments"),
        ("UPDATE campaigns SET status = ?", "UPDATE campaigns"),
        ("DELETE FROM jobs WHERE due_at < ?", "DELETE jobs"),
        ("CREATE INDEX IF NOT EXISTS idx ON t (a)", "CREATE idx"),
        ("COMMIT", "COMMIT"),
        ("VACUUM", "OTHER"),
    ],
)
def test_statement_names_are_verb_and_table(sql: str, name: str) -> None:
    assert statement_name(sql) == name


async def test_statements_are_timed_by_name_and_the_pool_is_sampled(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    inst = Instrumentation("svc", default_sla())
    instrument_engine(engine, inst.statements, "svc")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE courses (id INTEGER PRIMARY KEY, title TEXT)"))
            for i in range(5):
                await conn.execute(text("INSERT INTO courses (title) VALUES (:t)"), {"t": f"c{i}"})
            result = await conn.execute(text("SELECT count(*) FROM courses"))
            assert result.scalar_one() == 5
            sample = pool_sample(engine)
            assert sample is not None and sample.in_use == 1
        counts = {s.label_values: s.count for s in inst.statements.all_series()}
        assert counts[("svc", "INSERT courses")] == 5
        assert counts[("svc", "SELECT courses")] == 1
        assert counts[("svc", "CREATE courses")] == 1
        after = pool_sample(engine)
        assert after is not None and after.in_use == 0 and after.size >= 1
    finally:
        await engine.dispose()
