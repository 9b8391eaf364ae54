"""The loop of a background worker that drains a database queue until stopped.

    class Forwarder(DrainLoop):
        async def run_once(self) -> int: ...          # claim a batch, handle it; how many
        async def next_ready_in_s(self) -> float | None: ...
        async def after_round(self) -> None: ...      # e.g. export the queue depth
    task = asyncio.create_task(worker.run()); ...; worker.stop(); await task

A round that handled something is followed at once by the next; otherwise the loop
sleeps until the next row is ready, at least 10 ms (a row claimed elsewhere never causes a
busy loop) and at most `poll_s` seconds; `wake()` cuts the sleep short. A database outage
is logged and retried after `poll_s`; leases held meanwhile simply expire.
"""

from __future__ import annotations

import abc
import asyncio
import logging

from runtime.database import is_unavailable

__all__ = ["DrainLoop"]

_MIN_WAIT_S = 0.01


class DrainLoop(abc.ABC):
    """Runs `run_once` rounds until `stop()`; `what` names the queue in log messages."""

    def __init__(self, *, poll_s: float, log: logging.Logger, what: str) -> None:
        self.poll_s = poll_s
        self._log = log
        self._what = what
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called."""
        return self._stopping

    def wake(self) -> None:
        """Look at the queue now instead of at the end of the current sleep."""
        self._wake.set()

    def stop(self) -> None:
        """Return from `run` after the current round."""
        self._stopping = True
        self._wake.set()

    @abc.abstractmethod
    async def run_once(self) -> int:
        """Claim and handle one batch; the number handled."""

    @abc.abstractmethod
    async def next_ready_in_s(self) -> float | None:
        """Seconds until some row can be claimed (<= 0: now); None if none pend."""

    @abc.abstractmethod
    async def after_round(self) -> None:
        """Called after every round that did not fail (gauges of the queue go here)."""

    async def run(self) -> None:
        """Drain the queue until `stop()`; database errors are logged and retried."""
        while not self._stopping:
            wait_s = self.poll_s
            try:
                handled = await self.run_once()
                await self.after_round()
                if handled:
                    continue
                ready_in_s = await self.next_ready_in_s()
                if ready_in_s is not None:
                    wait_s = min(self.poll_s, max(_MIN_WAIT_S, ready_in_s))
            except Exception as exc:  # keep draining once the database is back
                if is_unavailable(exc):
                    self._log.warning("%s unavailable: %s", self._what, type(exc).__name__)
                else:
                    self._log.exception("%s error", self._what)
            if self._stopping:
                break
            try:
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
