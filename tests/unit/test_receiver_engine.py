"""The receiver's SQLite engine: durable commits through one pooled connection."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from receiver.engine import make_receiver_engine
from receiver.settings import ReceiverSettings
from runtime.database import make_engine

TOKEN = "0123456789abcdef"
_FULL, _NORMAL = 2, 1
"""`PRAGMA synchronous` values."""


def _settings(tmp_path: Path) -> ReceiverSettings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'receiver.sqlite3'}"
    return ReceiverSettings.build(token=TOKEN, database_url=url, pool_min=3, pool_max=7)


async def test_the_receiver_commits_durably_through_one_connection(tmp_path: Path) -> None:
    engine = make_receiver_engine(_settings(tmp_path))
    try:
        async with engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA synchronous"))) == _FULL
            assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (engine.pool.size(), engine.pool._max_overflow) == (1, 0)  # type: ignore[attr-defined]
        assert (tmp_path / "sub").is_dir()
    finally:
        await engine.dispose()


async def test_the_shared_engine_keeps_normal_sync_and_the_sized_pool(tmp_path: Path) -> None:
    engine = make_engine(_settings(tmp_path))
    try:
        async with engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA synchronous"))) == _NORMAL
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 4)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def test_the_connect_timeout_is_the_command_timeout_at_most_five_seconds() -> None:
    assert ReceiverSettings.build(token=TOKEN, command_timeout_s=2.0).connect_timeout_s == 2.0
    assert ReceiverSettings.build(token=TOKEN, command_timeout_s=30.0).connect_timeout_s == 5.0
