"""Engine and session factory of a reference service, on SQLite or PostgreSQL.

SQLite (aiosqlite) is the embedded default: WAL journal, NORMAL sync, a busy timeout.
PostgreSQL (asyncpg) gets a sized pool with pre-ping, so a database that went away and
came back is used again without a restart. `DatabaseUnavailable` is what handlers turn
into 503.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from reference_services.settings import ServiceSettings

__all__ = ["UNAVAILABLE_ERRORS", "Database", "DatabaseUnavailable", "make_engine"]


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached right now (reply 503; retry later)."""


UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)
"""Exceptions that mean "the database is unreachable", as opposed to a bug."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database is unreachable (connection-level failure)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, UNAVAILABLE_ERRORS)


def make_engine(settings: ServiceSettings) -> AsyncEngine:
    """An engine sized from settings: pool_min connections kept, up to pool_max."""
    if settings.is_sqlite:
        path = settings.database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.pool_min,
            max_overflow=settings.pool_max - settings.pool_min,
            pool_timeout=settings.pool_timeout_s,
            # Connection.close() already rolls back an open transaction; the pool's own
            # reset would be a second aiosqlite thread round trip (~0.4 ms) per checkout.
            pool_reset_on_return=None,
            connect_args={"timeout": settings.command_timeout_s},
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(settings.command_timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=settings.pool_min,
        max_overflow=settings.pool_max - settings.pool_min,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=True,
        connect_args={
            "command_timeout": settings.command_timeout_s,
            "timeout": min(settings.command_timeout_s, 5.0),
        },
    )


class Database:
    """The engine, a session factory, and schema creation for one service."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A new session; use `async with db.session() as session`."""
        return self.sessions()

    async def create_schema(self, base: type[DeclarativeBase]) -> None:
        """Create missing tables and indexes (idempotent)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(base.metadata.create_all)

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Whether a trivial statement succeeds within `timeout_s` seconds."""
        try:
            async with asyncio.timeout(timeout_s), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # any failure means "not ready"
            if is_unavailable(exc) or isinstance(exc, DBAPIError):
                return False
            raise

    async def close(self) -> None:
        """Dispose of the pool."""
        await self.engine.dispose()
