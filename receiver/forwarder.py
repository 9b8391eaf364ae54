"""The background worker that drains the outbox: send, then settle each delivery.

    forwarder = Forwarder(outbox, config, client, rng=random.random, metrics=metrics)
    task = asyncio.create_task(forwarder.run()); ...; forwarder.stop(); await task

Each round claims up to `batch` due deliveries and sends them concurrently with the
shared httpx client (one POST each, `config.timeout_s` at most, an `Idempotency-Key`
header). A 2xx settles the delivery; a network error, a timeout, a 5xx, 408 or 429 is
retried after the backoff policy's delay (jitter drawn from `rng`); any other 4xx is the
destination refusing the message and dead-letters it at once, as does the last allowed
attempt. Between rounds it sleeps as `runtime.draining.DrainLoop` does: until the next
delivery is due, at most `poll_s` seconds, `wake()` cutting the sleep short; a database
outage is logged and retried, and held leases simply expire.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import httpx

from receiver.backoff import DeadLetter
from receiver.destinations import ForwardConfig
from receiver.messages import render_message
from receiver.metrics import ReceiverMetrics
from receiver.outbox import ClaimedDelivery, Outbox
from runtime.draining import DrainLoop

__all__ = ["Forwarder"]

log = logging.getLogger("loadwatch.receiver.forwarder")
_RETRYABLE_4XX = frozenset({408, 425, 429})


class Forwarder(DrainLoop):
    """Delivers outbox rows to the configured destinations until `stop()`.

    `stop()` returns from `run` after the current round (its sends finish first).
    """

    def __init__(
        self,
        outbox: Outbox,
        config: ForwardConfig,
        client: httpx.AsyncClient,
        *,
        metrics: ReceiverMetrics,
        rng: Callable[[], float] = random.random,
        poll_s: float = 1.0,
        batch: int = 50,
    ) -> None:
        super().__init__(poll_s=poll_s, log=log, what="outbox")
        self.outbox = outbox
        self.config = config
        self.client = client
        self.metrics = metrics
        self.rng = rng
        self.batch = batch
        self._destinations = config.by_name()

    async def _send(self, claim: ClaimedDelivery) -> tuple[bool, bool, str]:
        """(delivered, permanent failure, error text) of one attempt."""
        destination = self._destinations.get(claim.destination)
        if destination is None:
            return False, True, f"destination {claim.destination!r} is no longer configured"
        body = render_message(destination.kind, claim.alert, claim.delivery_key)
        headers = {**destination.headers, "Idempotency-Key": claim.delivery_key}
        try:
            response = await self.client.post(
                destination.url, json=body, headers=headers, timeout=self.config.timeout_s
            )
        except httpx.HTTPError as exc:
            return False, False, f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return True, False, ""
        permanent = response.is_client_error and response.status_code not in _RETRYABLE_4XX
        return False, permanent, f"HTTP {response.status_code}: {response.text[:200]}"

    async def _deliver(self, claim: ClaimedDelivery) -> None:
        delivered, permanent, error = await self._send(claim)
        if delivered:
            await self.outbox.delivered(claim)
            self.metrics.attempt(claim.destination, failed=False, dead=False)
            return
        decision = self.config.backoff.after_failure(claim.attempts, self.rng())
        if permanent or isinstance(decision, DeadLetter):
            log.warning(
                "delivery %d to %s dead after %d attempts: %s",
                claim.id, claim.destination, claim.attempts, error,
            )  # fmt: skip
            await self.outbox.dead(claim, error)
            self.metrics.attempt(claim.destination, failed=True, dead=True)
            return
        await self.outbox.retry_in(claim, decision.delay_s, error)
        self.metrics.attempt(claim.destination, failed=True, dead=False)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and send them; the number attempted."""
        claims = await self.outbox.claim(self.batch)
        results = await asyncio.gather(
            *(self._deliver(claim) for claim in claims), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(claims)

    async def after_round(self) -> None:
        """Export the outbox depth."""
        self.metrics.outbox_depth.set(await self.outbox.depth())

    async def next_ready_in_s(self) -> float | None:
        """Seconds until some delivery can be claimed (<= 0: now); None if none pend."""
        return await self.outbox.next_ready_in_s()
