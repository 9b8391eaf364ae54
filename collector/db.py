"""SQLAlchemy engine instrumentation: statement durations by bounded name, pool gauges.

`instrument_engine(engine, statements, service)` hooks `before/after_cursor_execute` on the
(sync side of the) engine: ~1 us per statement. Statement names are `VERB table`
(`SELECT courses`), so label cardinality stays bounded whatever the SQL text.
"""

from __future__ import annotations

import re
from time import perf_counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.recorder import StatementRecorder
from collector.snapshot import PoolSample

__all__ = ["instrument_engine", "pool_sample", "statement_name"]

_VERB_TABLE = re.compile(
    r"""^\s*(?:WITH\b.*?\)\s*)?(?P<verb>SELECT|INSERT|UPDATE|DELETE|UPSERT|MERGE|CREATE|DROP|ALTER
        |BEGIN|COMMIT|ROLLBACK|PRAGMA|EXPLAIN|SHOW|SET|TRUNCATE|COPY)\b
        (?:.*?\b(?:FROM|INTO|UPDATE|TABLE|INDEX)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?
        (?P<table>["`\[]?[A-Za-z_][\w.]*["`\]]?))?""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)


_QUOTES = '"`[]'


def statement_name(sql: str) -> str:
    """A short, bounded name for a SQL statement: 'SELECT courses', 'INSERT users', 'OTHER'."""
    match = _VERB_TABLE.match(sql)
    if match is None:
        return "OTHER"
    verb = match.group("verb").upper()
    table = match.group("table")
    if verb == "UPDATE" and table is None:
        rest = sql.split(None, 2)
        table = rest[1] if len(rest) > 1 else None
    if table is None:
        return verb
    return f"{verb} {table.strip(_QUOTES).lower()}"


def instrument_engine(
    engine: AsyncEngine | Engine, statements: StatementRecorder, service: str
) -> None:
    """Time every statement of `engine` into `statements` under (service, statement name)."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    names: dict[str, tuple[str, str]] = {}

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        conn.info.setdefault("loadwatch_started", []).append(perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _stop(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        started = conn.info.get("loadwatch_started")
        if not started:
            return
        elapsed = perf_counter() - started.pop()
        labels = names.get(statement)
        if labels is None:
            labels = (service, statement_name(statement))
            if len(names) < 10_000:
                names[statement] = labels
        statements.observe(labels, elapsed)

    @event.listens_for(sync_engine, "handle_error")
    def _failed(context: Any) -> None:
        conn = context.connection
        if conn is not None and conn.info.get("loadwatch_started"):
            conn.info["loadwatch_started"].pop()


def pool_sample(engine: AsyncEngine | Engine) -> PoolSample | None:
    """Connections in use and the pool's size, or None for pools without those numbers."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    pool = sync_engine.pool
    checkedout = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if checkedout is None or size is None:
        return None
    overflow = getattr(pool, "_max_overflow", 0)
    return PoolSample(in_use=int(checkedout()), size=int(size()) + max(int(overflow), 0))
