"""`loadwatch serve` and `loadwatch seed`: build settings from flags, start or fill a service."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from reference_services.settings import ServiceSettings, SettingsError

__all__ = ["DEFAULT_PORTS", "SERVICES", "run_seed", "run_serve"]

SERVICES = ("course", "campaign", "social")
DEFAULT_PORTS = {"course": 8101, "campaign": 8102, "social": 8103}


def run_serve(
    service: str,
    *,
    host: str,
    port: int | None,
    database_url: str | None,
    redis_url: str | None,
    social_url: str | None = None,
    platforms: Sequence[str] = (),
) -> int:
    """Serve one reference service until SIGINT/SIGTERM; exit 2 on bad settings, an
    unusable SQLite path, or an address that cannot be listened on."""
    from reference_services.database import sqlite_problem
    from reference_services.http import listen_problem, serve

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
        return 2
    problem = listen_problem(settings.host, settings.port) or (
        sqlite_problem(settings) if service != "social" else None
    )
    if problem is not None:
        print(f"loadwatch serve {service}: {problem}", file=sys.stderr)
        return 2
    if service == "course":
        from reference_services.course.app import make_course_app

        app = make_course_app(settings)
    elif service == "campaign":
        from reference_services.campaign.app import make_campaign_app

        app = make_campaign_app(settings)
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
            return 2
        app = make_social_app(behaviours)
    serve(
        app,
        settings.host,
        settings.port,
        settings.shutdown_timeout_s,
        backlog=settings.listen_backlog,
    )
    return 0


def run_seed(
    *,
    database_url: str | None,
    users: int,
    courses: int,
    campaigns: int,
    reset: bool,
) -> int:
    """Seed the course and campaign databases; exit 2 on bad settings or data present."""
    from reference_services.campaign.seed import seed_campaigns
    from reference_services.database import Database, make_engine, sqlite_problem
    from reference_services.seed import AlreadySeeded, seed_course

    try:
        course = ServiceSettings.build("course", database_url=database_url)
        campaign = ServiceSettings.build("campaign", database_url=database_url)
    except SettingsError as exc:
        print(f"loadwatch seed: {exc}", file=sys.stderr)
        return 2
    problem = sqlite_problem(course) or sqlite_problem(campaign)
    if problem is not None:
        print(f"loadwatch seed: {problem}", file=sys.stderr)
        return 2

    async def seed_all() -> None:
        course_db = Database(make_engine(course))
        try:
            print(f"seeding course data into {course.database_url}", flush=True)
            report = await seed_course(
                course_db, users=users, courses=courses, reset=reset, progress=print
            )
            print(f"  done in {report.elapsed_s:.1f} s", flush=True)
        finally:
            await course_db.close()
        campaign_db = Database(make_engine(campaign))
        try:
            print(f"seeding campaign data into {campaign.database_url}", flush=True)
            report = await seed_campaigns(
                campaign_db, campaigns=campaigns, reset=reset, progress=print
            )
            print(f"  done in {report.elapsed_s:.1f} s", flush=True)
        finally:
            await campaign_db.close()

    try:
        asyncio.run(seed_all())
    except (AlreadySeeded, ValueError) as exc:
        print(f"loadwatch seed: {exc}", file=sys.stderr)
        return 2
    return 0
