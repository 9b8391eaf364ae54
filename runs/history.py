"""Load-test run history in SQL: SQLite by default, PostgreSQL by URL.

    history = await History.open("sqlite+aiosqlite:///var/history.sqlite3")
    run_id = await history.add(record)                   # a RunRecord: summary + provenance
    rows = await history.recent(scenario="browse", last=20)          # newest first
    baseline = await history.baseline(rows[0])           # the passing runs before it
    await history.close()

One table, `loadtest_runs`: each run's full JSON summary (`loadtests.report.json_summary`)
beside the columns it is searched by (scenario, target, start, passed) and its provenance
(loadwatch version, git commit, host, labels). The engine comes from the shared
`runtime.database` helper; the schema is created on open (idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from loadtests.regression import (
    DEFAULT_RULE,
    RegressionReport,
    RegressionRule,
    RunFigures,
    compare,
)
from runtime.database import Database, make_engine, sqlite_problem

__all__ = [
    "DEFAULT_HISTORY_URL",
    "History",
    "HistoryError",
    "HistorySettings",
    "RunRecord",
    "StoredRun",
]

DEFAULT_HISTORY_URL = "sqlite+aiosqlite:///var/history.sqlite3"
BASELINE_RUNS = 5
"""How many earlier passing runs make a baseline (their median), by default."""


class HistoryError(RuntimeError):
    """The history database cannot be used (the message names the URL's problem)."""


class _Base(DeclarativeBase):
    pass


class _Run(_Base):
    __tablename__ = "loadtest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario: Mapped[str] = mapped_column(String(500), index=True)
    target: Mapped[str] = mapped_column(String(500), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    passed: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[str | None] = mapped_column(String(100))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(255))
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


@dataclass(frozen=True)
class HistorySettings:
    """The `runtime.database.EngineSettings` of the history: a small pool (one CLI at a
    time), timeouts in seconds."""

    database_url: str = DEFAULT_HISTORY_URL
    pool_min: int = 1
    pool_max: int = 2
    pool_timeout_s: float = 10.0
    command_timeout_s: float = 10.0
    connect_timeout_s: float = 5.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@dataclass(frozen=True)
class RunRecord:
    """What is stored for one run: its JSON summary and where it came from. `started_at`
    and `passed` are read from the summary."""

    summary: Mapping[str, Any]
    hostname: str
    version: str | None = None
    git_commit: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredRun:
    """A run read back; `target` is the base URL it was run against."""

    id: int
    scenario: str
    target: str
    started_at: datetime
    passed: bool
    version: str | None
    git_commit: str | None
    hostname: str
    labels: Mapping[str, str]
    summary: Mapping[str, Any]

    @property
    def figures(self) -> RunFigures:
        return RunFigures.from_summary(self.summary)


class History:
    """The run history behind one database URL; open with `await History.open(url)`."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @classmethod
    async def open(cls, url: str = DEFAULT_HISTORY_URL) -> History:
        """Connect and create the table if missing; HistoryError names a bad URL or file."""
        settings = HistorySettings(url)
        if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
            raise HistoryError(
                f"--history-url: expected sqlite+aiosqlite:///FILE or"
                f" postgresql+asyncpg://USER@HOST/DB, got {url!r}"
            )
        problem = sqlite_problem(settings)
        if problem is not None:
            raise HistoryError(f"--history-url: {problem.split(': ', 1)[1]}")
        database = Database(make_engine(settings))
        try:
            await database.create_schema(_Base)
        except Exception as exc:
            await database.close()
            raise HistoryError(f"--history-url: cannot use {url!r}: {exc}") from exc
        return cls(database)

    async def add(self, record: RunRecord) -> int:
        """Store one run; returns its id (ids grow with insertion)."""
        summary = dict(record.summary)
        row = _Run(
            scenario=str(summary["scenario"]),
            target=str(summary["host"]),
            started_at=datetime.fromisoformat(str(summary["started_at"])),
            passed=bool(summary["passed"]),
            version=record.version,
            git_commit=record.git_commit,
            hostname=record.hostname,
            labels=dict(record.labels),
            summary=summary,
        )
        async with self._db.session() as session:
            session.add(row)
            await session.commit()
            return row.id

    async def recent(
        self,
        *,
        scenario: str | None = None,
        target: str | None = None,
        last: int = 20,
        passing_only: bool = False,
        before_id: int | None = None,
    ) -> list[StoredRun]:
        """Up to `last` runs, newest (highest id) first, filtered as asked."""
        query = select(_Run).order_by(_Run.id.desc()).limit(last)
        if scenario is not None:
            query = query.where(_Run.scenario == scenario)
        if target is not None:
            query = query.where(_Run.target == target)
        if passing_only:
            query = query.where(_Run.passed.is_(True))
        if before_id is not None:
            query = query.where(_Run.id < before_id)
        async with self._db.session() as session:
            rows = (await session.execute(query)).scalars().all()
        return [_stored(row) for row in rows]

    async def baseline(self, run: StoredRun, runs: int = BASELINE_RUNS) -> list[StoredRun]:
        """The last `runs` passing runs of the same scenario and target stored before `run`."""
        return await self.recent(
            scenario=run.scenario,
            target=run.target,
            last=runs,
            passing_only=True,
            before_id=run.id,
        )

    async def judge(
        self, run: StoredRun, runs: int = BASELINE_RUNS, rule: RegressionRule | None = None
    ) -> RegressionReport:
        """`run` against its baseline (`loadtests.regression.compare`)."""
        baseline = [b.figures for b in await self.baseline(run, runs)]
        return compare(run.figures, baseline, rule or DEFAULT_RULE)

    async def close(self) -> None:
        await self._db.close()


def _stored(row: _Run) -> StoredRun:
    return StoredRun(
        id=row.id,
        scenario=row.scenario,
        target=row.target,
        started_at=row.started_at,
        passed=row.passed,
        version=row.version,
        git_commit=row.git_commit,
        hostname=row.hostname,
        labels=dict(row.labels),
        summary=dict(row.summary),
    )


def runs_table(rows: Sequence[tuple[StoredRun, RegressionReport]]) -> str:
    """The `loadwatch history` table, one line per run as given (newest first)."""
    header = (
        "id",
        "started (UTC)",
        "scenario",
        "target",
        "verdict",
        "p95 ms",
        "errors",
        "req/s",
        "vs baseline",
        "commit",
    )
    lines = [header]
    for run, report in rows:
        fig = run.figures
        p95 = "-" if fig.p95_s is None else f"{fig.p95_s * 1000:.1f}"
        against = report.verdict.value
        if report.regressed:
            against += " (" + ", ".join(_change(f.name, f.change) for f in report.regressed) + ")"
        lines.append(
            (
                str(run.id),
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                run.scenario,
                run.target,
                "PASS" if run.passed else "FAIL",
                p95,
                f"{fig.error_ratio:.2%}",
                f"{fig.rps:,.1f}",
                against,
                (run.git_commit or "-")[:10],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def _change(name: str, change: float | None) -> str:
    label = name.removesuffix("_s")
    return label if change is None else f"{label} {change:+.0%}"
