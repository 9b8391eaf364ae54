"""The receiver's SQLAlchemy engine: one SQLite writer, or a PostgreSQL pool.

SQLite allows one writer at a time; every receiver statement is a write or a short read,
so the pool holds a single connection and concurrent requests queue for it in the pool
(at most `pool_timeout_s` seconds, then 503) instead of spinning on SQLITE_BUSY.
`synchronous=FULL`: a commit the receiver has acknowledged survives a power cut, not
only a crash (one fsync a commit).
PostgreSQL gets `pool_min`..`pool_max` connections with pre-ping, so a database that went
away and came back is used again without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from receiver.settings import ReceiverSettings

__all__ = ["make_receiver_engine"]

_CONNECT_TIMEOUT_S = 5.0


def make_receiver_engine(settings: ReceiverSettings) -> AsyncEngine:
    """An engine for `settings.database_url`; creates the SQLite file's directory."""
    if not settings.is_sqlite:
        return create_async_engine(
            settings.database_url,
            pool_size=settings.pool_min,
            max_overflow=settings.pool_max - settings.pool_min,
            pool_timeout=settings.pool_timeout_s,
            pool_pre_ping=True,
            connect_args={
                "command_timeout": settings.command_timeout_s,
                "timeout": min(settings.command_timeout_s, _CONNECT_TIMEOUT_S),
            },
        )
    path = settings.database_url.split(":///", 1)[1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        settings.database_url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_s,
        connect_args={"timeout": settings.command_timeout_s},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.command_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
