"""The receiver's engine: `runtime.database.make_engine` with durable, single-writer SQLite.

SQLite allows one writer at a time and every receiver statement is a write or a short
read, so the pool holds one connection and concurrent requests queue for it (at most
`pool_timeout_s` seconds, then 503). `synchronous=FULL`: a commit the receiver has
acknowledged survives a power cut, not only a crash. PostgreSQL gets the shared sized
pool with pre-ping.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from receiver.settings import ReceiverSettings
from runtime.database import make_engine

__all__ = ["make_receiver_engine"]


def make_receiver_engine(settings: ReceiverSettings) -> AsyncEngine:
    """An engine for `settings.database_url`; creates the SQLite file's directory."""
    return make_engine(settings, durable=True, single_writer=True)
