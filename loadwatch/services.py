"""`loadwatch serve` and `loadwatch seed`: build settings from flags, start or fill a service."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collector.exit_codes import ExitCode
from reference_services.settings import ServiceSettings, SettingsError

if TYPE_CHECKING:
    from collector.sla import SLA
    from reference_services.seed import SeedReport
    from runtime.database import Database

__all__ = [
    "DEFAULT_PORTS",
    "SERVICES",
    "SeedSizes",
    "run_seed",
    "run_serve",
    "seed_databases",
]

SERVICES = ("course", "campaign", "social", "receiver")
DEFAULT_PORTS = {"course": 8101, "campaign": 8102, "social": 8103, "receiver": 8104}


def run_serve(
    service: str,
    *,
    host: str,
    port: int | None,
    database_url: str | None,
    redis_url: str | None,
    social_url: str | None = None,
    platforms: Sequence[str] = (),
    token: str | None = None,
    forward_config: Path | None = None,
    sla: SLA | None = None,
) -> int:
    """Serve one reference service (or the receiver) until SIGINT/SIGTERM; USAGE on bad
    settings, an unusable SQLite path, or an address that cannot be listened on.

    `sla` sets the histogram buckets at its thresholds (default: the nearest sla.yaml)."""
    if service == "receiver":
        from receiver.serve import run_receiver

        return run_receiver(
            host=host,
            port=port,
            database_url=database_url,
            token=token,
            forward_config=forward_config,
            environ=os.environ,
            sla=sla,
        )
    from runtime.database import sqlite_problem
    from runtime.http import listen_problem, serve

    chosen_port = DEFAULT_PORTS[service] if port is None else port
    try:
        settings = ServiceSettings.build(
            service,
            host=host,
            port=chosen_port,
            database_url=database_url,
            redis_url=redis_url,
            social_url=social_url,
        )
    except SettingsError as exc:
        print(f"loadwatch serve {service}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    problem = listen_problem(settings.host, settings.port) or (
        sqlite_problem(settings) if service != "social" else None
    )
    if problem is not None:
        print(f"loadwatch serve {service}: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    if service == "course":
        from reference_services.course.app import make_course_app

        app = make_course_app(settings, sla=sla)
    elif service == "campaign":
        from reference_services.campaign.app import make_campaign_app

        app = make_campaign_app(settings, sla=sla)
    else:
        from reference_services.social import (
            DEFAULT_PLATFORMS,
            make_social_app,
            parse_platform_spec,
        )

        try:
            behaviours = dict(DEFAULT_PLATFORMS)
            for spec in platforms:
                behaviour = parse_platform_spec(spec)
                behaviours[behaviour.name] = behaviour
        except ValueError as exc:
            print(f"loadwatch serve social: --platform: {exc}", file=sys.stderr)
            return ExitCode.USAGE
        app = make_social_app(behaviours, sla=sla)
    serve(
        app,
        settings.host,
        settings.port,
        settings.shutdown_timeout_s,
        backlog=settings.listen_backlog,
    )
    return ExitCode.OK


@dataclass(frozen=True, slots=True)
class SeedSizes:
    """How much `seed_databases` inserts: users and courses (course), campaigns."""

    users: int = 10_000
    courses: int = 200
    campaigns: int = 5_000


async def seed_databases(
    course: ServiceSettings,
    campaign: ServiceSettings,
    sizes: SeedSizes,
    *,
    reset: bool,
    progress: Callable[[str], None],
) -> dict[str, SeedReport]:
    """Seed the course database, then the campaign one; the report of each by service.

    `progress` gets a line as each starts, the seeders' own progress, and a summary line
    as each ends. Raises AlreadySeeded (data present and not `reset`) or ValueError (a bad
    size). About 3 s for the default sizes on SQLite.
    """
    from reference_services.campaign.seed import seed_campaigns
    from reference_services.seed import seed_course
    from runtime.database import Database, make_engine

    seeders: tuple[tuple[ServiceSettings, Callable[[Database], Awaitable[SeedReport]]], ...] = (
        (
            course,
            lambda db: seed_course(
                db, users=sizes.users, courses=sizes.courses, reset=reset, progress=progress
            ),
        ),
        (
            campaign,
            lambda db: seed_campaigns(
                db, campaigns=sizes.campaigns, reset=reset, progress=progress
            ),
        ),
    )
    reports: dict[str, SeedReport] = {}
    for settings, seed in seeders:
        progress(f"seeding {settings.service} data into {settings.database_url}")
        db = Database(make_engine(settings))
        try:
            report = await seed(db)
        finally:
            await db.close()
        progress(f"  {sum(report.rows.values()):,} rows in {report.elapsed_s:.1f} s")
        reports[settings.service] = report
    return reports


def run_seed(*, database_url: str | None, sizes: SeedSizes, reset: bool) -> ExitCode:
    """`loadwatch seed`: seed the course and campaign databases (same URL for both).

    Exits USAGE on bad settings or when data is present without `reset`.
    """
    from reference_services.seed import AlreadySeeded
    from runtime.database import sqlite_problem

    try:
        course = ServiceSettings.build("course", database_url=database_url)
        campaign = ServiceSettings.build("campaign", database_url=database_url)
    except SettingsError as exc:
        print(f"loadwatch seed: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    problem = sqlite_problem(course) or sqlite_problem(campaign)
    if problem is not None:
        print(f"loadwatch seed: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        asyncio.run(
            seed_databases(
                course, campaign, sizes, reset=reset, progress=lambda line: print(line, flush=True)
            )
        )
    except (AlreadySeeded, ValueError) as exc:
        print(f"loadwatch seed: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK
