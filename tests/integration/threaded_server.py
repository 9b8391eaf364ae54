"""An aiohttp app served from an event loop in a background thread, for tests whose code
under test blocks (a synchronous client, `run_loadtest`, a CLI `main`) and so cannot share
the test's own loop.

    with serving_in_a_thread(fake.app(), fake.port):
        push_dashboards(fake.url, ...)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from tests.conftest import TIMEOUT_UNIT_S

__all__ = ["serving_in_a_thread"]


@contextmanager
def serving_in_a_thread(app: web.Application, port: int, timeout_s: float = 30) -> Iterator[None]:
    """Serve `app` on 127.0.0.1:`port` until exit; start-up and clean-up each wait at most
    `timeout_s` seconds (scaled by LOADWATCH_TEST_TIMEOUT_UNIT)."""
    timeout_s *= TIMEOUT_UNIT_S
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=timeout_s)
        yield
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=timeout_s)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
