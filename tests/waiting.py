"""Waiting on a condition with a deadline: what tests do instead of a bare sleep.

    await eventually(lambda: len(destination.received) == 2, 10, what="both delivered")
    await eventually(batcher_is_idle, poll_s=0)      # pure asyncio: just yield to the loop
    wait_until(pid_file.is_file, what="the child started")          # a synchronous test

The condition is polled every `poll_s` seconds until truthy; past `timeout_s` seconds
(scaled by LOADWATCH_TEST_TIMEOUT_UNIT) an AssertionError names `what` and the deadline.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

from tests.conftest import TIMEOUT_UNIT_S

__all__ = ["eventually", "wait_until"]

_POLL_S = 0.02


def _expired(what: str, timeout_s: float) -> AssertionError:
    return AssertionError(f"{what}: not within {timeout_s * TIMEOUT_UNIT_S:g} s")


async def eventually(
    condition: Callable[[], object],
    timeout_s: float = 10.0,
    *,
    what: str = "condition",
    poll_s: float = _POLL_S,
) -> None:
    """Poll `condition()` (sync, or returning an awaitable) until truthy."""
    deadline = time.monotonic() + timeout_s * TIMEOUT_UNIT_S
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise _expired(what, timeout_s)
        await asyncio.sleep(poll_s)


def wait_until(
    condition: Callable[[], object],
    timeout_s: float = 10.0,
    *,
    what: str = "condition",
    poll_s: float = _POLL_S,
) -> None:
    """Poll the synchronous `condition()` until truthy, sleeping `poll_s` between looks."""
    deadline = time.monotonic() + timeout_s * TIMEOUT_UNIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise _expired(what, timeout_s)
        time.sleep(poll_s)
