"""The persistent deferral queue (the `jobs` table) and the worker that drains it.

    queue = JobQueue(db)                                   # clock injectable (epoch seconds)
    queued = await queue.enqueue(JobKind.PROCESS_CAMPAIGN, 42, delay_s=60.0)
    worker = JobWorker(queue, handle)                      # handle(job) -> JobResult
    task = asyncio.create_task(worker.run()); ...; worker.stop(); await task

Delivery is at least once: a claim takes a lease (`locked_until`, `lease_s` seconds); a
job whose holder died is claimed again once the lease expires, so nothing is lost across
a restart, and handlers must be idempotent. Completing or deferring checks the claim's
token, so a holder whose lease was taken over changes nothing. The leasing queries are
`runtime.leases.LeasedTable`'s and the worker's loop `runtime.draining.DrainLoop`, both
shared with the receiver's outbox. A pending job holds a unique `dedupe_key`: one
pending job per (kind, campaign).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge
from prometheus_client.registry import CollectorRegistry
from sqlalchemy import func, select

from collector import conventions as names
from reference_services.campaign.models import Job, JobKind, JobStatus, utc
from reference_services.campaign.queries import dialect_insert
from runtime.database import Database, is_unavailable
from runtime.draining import DrainLoop
from runtime.leases import LeasedTable, at

__all__ = [
    "ClaimedJob",
    "Enqueued",
    "JobMetrics",
    "JobOutcome",
    "JobQueue",
    "JobResult",
    "JobView",
    "JobWorker",
]

log = logging.getLogger("loadwatch.campaign.jobs")
_JOBS = LeasedTable(Job, pending=JobStatus.PENDING.value)


class JobOutcome(enum.StrEnum):
    """What handling a claimed job came to; the `outcome` label of JOBS_PROCESSED."""

    DONE = "done"
    DEFERRED = "deferred"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The pending job of a (kind, campaign); `created` is False if it already existed."""

    job_id: int
    due_at: datetime
    created: bool


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker holds until `locked_until`; `attempts` counts this claim."""

    id: int
    kind: JobKind
    campaign_id: int
    attempts: int
    token: str


@dataclass(frozen=True, slots=True)
class JobResult:
    """A handler's verdict: DEFERRED runs again in `delay_s` seconds; RETRY/FAILED say why."""

    outcome: JobOutcome
    delay_s: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as GET /jobs/{job_id} shows it."""

    id: int
    kind: str
    campaign_id: int
    status: str
    due_at: datetime
    attempts: int
    last_error: str | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON values; times as ISO 8601 strings."""
        finished = self.finished_at.isoformat() if self.finished_at else None
        return {**asdict(self), "due_at": self.due_at.isoformat(), "finished_at": finished}


_job_families: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Counter, Counter, Gauge]] = (
    weakref.WeakKeyDictionary()
)
_job_families_lock = threading.Lock()


class JobMetrics:
    """JOBS_DEFERRED, JOBS_PROCESSED{outcome} and JOBS_DUE of one service on `registry`.

    The families are registered once per registry; every outcome is exported from zero.
    """

    def __init__(self, registry: CollectorRegistry, *, service: str) -> None:
        label = (names.LABEL_SERVICE,)
        with _job_families_lock:
            families = _job_families.get(registry)
            if families is None:
                families = _job_families[registry] = (
                    Counter(names.JOBS_DEFERRED, "Jobs deferred by the rate limiter.", label,
                            registry=registry),
                    Counter(names.JOBS_PROCESSED, "Claimed jobs handled, by outcome.",
                            (*label, names.LABEL_OUTCOME), registry=registry),
                    Gauge(names.JOBS_DUE, "Pending jobs whose due time has come.", label,
                          registry=registry),
                )  # fmt: skip
        deferred, processed, due = families
        self.deferred = deferred.labels(service)
        self.due = due.labels(service)
        self._processed = {o: processed.labels(service, o.value) for o in JobOutcome}

    def observe_outcome(self, outcome: JobOutcome) -> None:
        """Count one handled job."""
        self._processed[outcome].inc()


class JobQueue:
    """Enqueue, claim, complete, defer and fail jobs; every method is one transaction.

    `clock()` gives seconds since the epoch. A job fails for good on its `max_attempts`-th
    failed claim; before that it is retried after `retry_backoff_s * 2**(attempts-1)`
    seconds (at most an hour).
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        lease_s: float = 30.0,
        max_attempts: int = 5,
        retry_backoff_s: float = 1.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s

    async def enqueue(self, kind: JobKind, campaign_id: int, delay_s: float) -> Enqueued:
        """The campaign's pending job of `kind`, created due in `delay_s` s if there is none."""
        dedupe_key = f"{kind.value}:{campaign_id}"
        for _ in range(3):  # the pending job may finish between the insert and the select
            now = self.clock()
            async with self.db.session() as session, session.begin():
                insert = dialect_insert(session, Job).values(
                    kind=kind.value,
                    campaign_id=campaign_id,
                    status=JobStatus.PENDING.value,
                    dedupe_key=dedupe_key,
                    due_at=at(now + delay_s),
                    created_at=at(now),
                )
                row = (
                    await session.execute(
                        insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(
                            Job.id, Job.due_at
                        )
                    )
                ).first()
                created = row is not None
                if row is None:
                    row = (
                        await session.execute(
                            select(Job.id, Job.due_at).where(Job.dedupe_key == dedupe_key)
                        )
                    ).first()
            if row is not None:
                return Enqueued(row.id, utc(row.due_at), created)
        raise RuntimeError(f"could not enqueue {dedupe_key}: the pending job kept changing")

    async def claim(self, limit: int = 10) -> list[ClaimedJob]:
        """Lease up to `limit` due jobs, oldest due first, for `lease_s` seconds."""
        token = uuid.uuid4().hex
        async with self.db.session() as session:
            rows = await _JOBS.claim(
                session,
                limit=limit,
                now_s=self.clock(),
                lease_s=self.lease_s,
                token=token,
                columns=(Job.kind, Job.campaign_id, Job.attempts),
            )
        return [ClaimedJob(r.id, JobKind(r.kind), r.campaign_id, r.attempts, token) for r in rows]

    async def _settle(self, job: ClaimedJob, **values: Any) -> bool:
        return await _JOBS.settle(self.db, job.id, job.token, **values)

    async def complete(self, job: ClaimedJob) -> bool:
        """Mark done (frees the dedupe key); False if the lease was lost meanwhile."""
        return await self._settle(
            job, status=JobStatus.DONE.value, dedupe_key=None, finished_at=at(self.clock())
        )

    async def defer(self, job: ClaimedJob, delay_s: float) -> bool:
        """Run again in `delay_s` seconds; the claim does not count as an attempt."""
        return await self._settle(job, due_at=at(self.clock() + delay_s), attempts=Job.attempts - 1)

    async def fail(self, job: ClaimedJob, error: str, *, permanent: bool = False) -> JobOutcome:
        """Retry later with backoff, or fail for good (permanent, or out of attempts)."""
        now = self.clock()
        if permanent or job.attempts >= self.max_attempts:
            await self._settle(
                job,
                status=JobStatus.FAILED.value,
                dedupe_key=None,
                last_error=error[:1000],
                finished_at=at(now),
            )
            return JobOutcome.FAILED
        delay_s = min(3600.0, self.retry_backoff_s * 2 ** (job.attempts - 1))
        await self._settle(job, due_at=at(now + delay_s), last_error=error[:1000])
        return JobOutcome.RETRY

    async def count_due(self) -> int:
        """Pending jobs whose due time has come (leased ones included)."""
        now = at(self.clock())
        async with self.db.session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.status == JobStatus.PENDING.value, Job.due_at <= now)
            )
        return int(count or 0)

    async def next_ready_in_s(self) -> float | None:
        """Seconds until some pending job can be claimed (<= 0: now), None if none pend."""
        return await _JOBS.next_ready_in_s(self.db, self.clock())

    async def get(self, job_id: int) -> JobView | None:
        """The job, or None."""
        async with self.db.session() as session:
            job = await session.get(Job, job_id)
        if job is None:
            return None
        finished = utc(job.finished_at) if job.finished_at is not None else None
        return JobView(
            job.id, job.kind, job.campaign_id, job.status, utc(job.due_at), job.attempts,
            job.last_error, finished,
        )  # fmt: skip


Handler = Callable[[ClaimedJob], Awaitable[JobResult]]


class JobWorker(DrainLoop):
    """Claims due jobs and hands each to `handle`, one at a time, until `stop()`.

    It sleeps until the next job is ready, at most `poll_s` seconds (`wake()` cuts the
    sleep short). `on_outcome` sees every job's outcome; `on_due` the number of due jobs
    after each round. A database outage is logged and retried after `poll_s`. `stop()`
    finishes the current job, releases the rest of the batch and returns from `run`.
    """

    def __init__(
        self,
        queue: JobQueue,
        handle: Handler,
        *,
        poll_s: float = 1.0,
        batch: int = 10,
        on_outcome: Callable[[JobOutcome], None] = lambda outcome: None,
        on_due: Callable[[int], None] = lambda due: None,
    ) -> None:
        super().__init__(poll_s=poll_s, log=log, what="job queue")
        self.queue = queue
        self.handle = handle
        self.batch = batch
        self._on_outcome = on_outcome
        self._on_due = on_due

    async def run_once(self) -> int:
        """Claim and handle one batch of due jobs; the number handled."""
        jobs = await self.queue.claim(self.batch)
        handled = 0
        for job in jobs:
            if self.stopping:
                await self.queue.defer(job, 0.0)
                continue
            outcome = await self._handle(job)
            if outcome is not None:
                self._on_outcome(outcome)
            handled += 1
        return handled

    async def _handle(self, job: ClaimedJob) -> JobOutcome | None:
        try:
            result = await self.handle(job)
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("job %d: database unavailable; its lease will expire", job.id)
                return None
            log.exception("job %d failed", job.id)
            return await self.queue.fail(job, f"{type(exc).__name__}: {exc}")
        if result.outcome is JobOutcome.DONE:
            await self.queue.complete(job)
            return JobOutcome.DONE
        if result.outcome is JobOutcome.DEFERRED:
            await self.queue.defer(job, result.delay_s)
            return JobOutcome.DEFERRED
        return await self.queue.fail(
            job, result.error or "failed", permanent=result.outcome is JobOutcome.FAILED
        )

    async def after_round(self) -> None:
        """Report the number of due jobs."""
        self._on_due(await self.queue.count_due())

    async def next_ready_in_s(self) -> float | None:
        """Seconds until some job can be claimed (<= 0: now); None if none pend."""
        return await self.queue.next_ready_in_s()
