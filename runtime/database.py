"""Engine and session factory of a running service, on SQLite or PostgreSQL.

SQLite (aiosqlite) is the embedded default: WAL journal, NORMAL sync (FULL when asked
for durable commits), a busy timeout.
PostgreSQL (asyncpg) gets a sized pool with pre-ping, so a database that went away and
came back is used again without a restart. `DatabaseUnavailable` is what handlers turn
into 503.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, Executable, Row, create_engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

__all__ = [
    "UNAVAILABLE_ERRORS",
    "Database",
    "DatabaseUnavailable",
    "EngineSettings",
    "is_unavailable",
    "make_engine",
    "make_sqlite_reader",
    "sqlite_problem",
]

_SQLITE_READERS = 2
"""Threads (and read-only connections) that serve SQLite reads."""


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


class EngineSettings(Protocol):
    """What `make_engine` reads from a service's settings (durations in seconds)."""

    @property
    def database_url(self) -> str: ...
    @property
    def is_sqlite(self) -> bool: ...
    @property
    def pool_min(self) -> int: ...
    @property
    def pool_max(self) -> int: ...
    @property
    def pool_timeout_s(self) -> float: ...
    @property
    def command_timeout_s(self) -> float: ...
    @property
    def connect_timeout_s(self) -> float: ...


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database is unreachable (connection-level failure)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, UNAVAILABLE_ERRORS)


def sqlite_problem(settings: EngineSettings) -> str | None:
    """Why the SQLite file of `settings` cannot be used, naming the path; None when it can
    (or the database is not SQLite). Creates missing directories, as `make_engine` does."""
    if not settings.is_sqlite:
        return None
    path = settings.database_url.split(":///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    file = Path(path)
    existing = next((parent for parent in file.parents if parent.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"database_url: {str(existing)!r} is a file, so {path!r} cannot be created"
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"database_url: cannot create the directory of {path!r}: {exc.strerror}"
    if file.is_dir():
        return f"database_url: {path!r} is a directory, expected a SQLite file"
    if not os.access(file if file.exists() else file.parent, os.W_OK):
        return f"database_url: {path!r} is not writable"
    return None


def make_engine(
    settings: EngineSettings, *, durable: bool = False, single_writer: bool = False
) -> AsyncEngine:
    """An engine sized from settings: pool_min connections kept, up to pool_max.

    Both flags apply to SQLite only. `durable`: `synchronous=FULL`, so a commit the caller
    acknowledged survives a power cut, not only a crash (one fsync a commit; NORMAL
    otherwise). `single_writer`: the pool holds one connection, so concurrent callers
    queue for it (at most `pool_timeout_s` seconds) instead of spinning on SQLITE_BUSY.
    """
    if settings.is_sqlite:
        path = settings.database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        pool_size, pool_max = (1, 1) if single_writer else (settings.pool_min, settings.pool_max)
        synchronous = "FULL" if durable else "NORMAL"
        engine = create_async_engine(
            settings.database_url,
            pool_size=pool_size,
            max_overflow=pool_max - pool_size,
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
            cursor.execute(f"PRAGMA synchronous={synchronous}")
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
            "timeout": settings.connect_timeout_s,
        },
    )


def make_sqlite_reader(settings: EngineSettings) -> Engine | None:
    """For SQLite only: a synchronous, read-only engine for `Database.read`.

    Through aiosqlite every statement is about four thread round trips (cursor, execute,
    fetch, close), ~0.3 ms each on this machine, which capped a one-statement read near
    600 req/s. A read run whole in one worker thread on a plain pysqlite connection is one
    round trip. SQLite in WAL mode lets these readers run beside the async writer.
    """
    if not settings.is_sqlite:
        return None
    url = settings.database_url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1)
    reader = create_engine(
        url,
        pool_size=_SQLITE_READERS,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_s,
        pool_reset_on_return=None,
        connect_args={"check_same_thread": False, "timeout": settings.command_timeout_s},
    )

    @event.listens_for(reader, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(settings.command_timeout_s * 1000)}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return reader


class Database:
    """The engine, a session factory, reads, and schema creation for one service.

    `read(...)` runs SELECTs: on SQLite through the synchronous reader in a small thread
    pool (one hop a read), elsewhere on the async engine.
    """

    def __init__(self, engine: AsyncEngine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._executor = (
            ThreadPoolExecutor(_SQLITE_READERS, thread_name_prefix="sqlite-read")
            if reader is not None
            else None
        )

    async def read(
        self, *statements: tuple[Executable, Mapping[str, Any]]
    ) -> list[Sequence[Row[Any]]]:
        """The rows of each (statement, parameters), read on one connection."""
        if self.reader is not None and self._executor is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._read_sync, statements)
        async with self.engine.connect() as conn:
            return [(await conn.execute(stmt, dict(params))).all() for stmt, params in statements]

    def _read_sync(
        self, statements: tuple[tuple[Executable, Mapping[str, Any]], ...]
    ) -> list[Sequence[Row[Any]]]:
        assert self.reader is not None
        with self.reader.connect() as conn:
            return [conn.execute(stmt, dict(params)).all() for stmt, params in statements]

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
        """Dispose of the pools and stop the reader threads."""
        await self.engine.dispose()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self.reader is not None:
            self.reader.dispose()
