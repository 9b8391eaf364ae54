"""`loadwatch demo`: the whole loop on one machine with embedded defaults.

Seeds SQLite under var/demo/, starts the social, course and campaign services as child
processes on free 127.0.0.1 ports, runs the mixed Locust scenario against them (open
model, `rate` req/s for `duration_s`), prints the verdict table and the report paths,
and stops everything: Ctrl-C safe, no orphans. The exit code is the gate's
(0 pass, 1 an objective failed, 2 bad configuration, 3 a service or the run failed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from collector.sla import SLA
from loadwatch.stack import Stack, StackError, free_port, terminate_on_sigterm

__all__ = ["run_demo"]

_SEED = {"users": 10_000, "courses": 200, "campaigns": 5_000}


async def _seed(course_url: str, campaign_url: str) -> None:
    from reference_services.campaign.seed import seed_campaigns
    from reference_services.database import Database, make_engine
    from reference_services.seed import seed_course
    from reference_services.settings import ServiceSettings

    course = Database(make_engine(ServiceSettings.build("course", database_url=course_url)))
    try:
        report = await seed_course(
            course, users=_SEED["users"], courses=_SEED["courses"], reset=True
        )
        print(f"  course:   {sum(report.rows.values()):,} rows in {report.elapsed_s:.1f} s")
    finally:
        await course.close()
    campaign = Database(make_engine(ServiceSettings.build("campaign", database_url=campaign_url)))
    try:
        report = await seed_campaigns(campaign, campaigns=_SEED["campaigns"], reset=True)
        print(f"  campaign: {sum(report.rows.values()):,} rows in {report.elapsed_s:.1f} s")
    finally:
        await campaign.close()


def run_demo(
    sla: SLA,
    *,
    sla_path: Path | None,
    rate: float,
    duration_s: float,
    data_dir: Path = Path("var/demo"),
    reports_dir: Path = Path("reports"),
) -> int:
    """Run the demo; returns the exit code."""
    from loadtests.options import LoadTestOptions
    from loadtests.runner import run_loadtest
    from loadtests.scenarios.common import ScenarioSettings

    data_dir.mkdir(parents=True, exist_ok=True)
    reports_dir.mkdir(parents=True, exist_ok=True)
    course_db = f"sqlite+aiosqlite:///{data_dir / 'course.sqlite3'}"
    campaign_db = f"sqlite+aiosqlite:///{data_dir / 'campaign.sqlite3'}"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = reports_dir / f"demo-{stamp}.json"
    html_path = reports_dir / f"demo-{stamp}.html"
    stack = Stack(log_dir=data_dir / "logs")
    print(f"loadwatch demo: SLA from {sla.source}")
    try:
        with terminate_on_sigterm():
            print(f"seeding SQLite in {data_dir}/ ...", flush=True)
            asyncio.run(_seed(course_db, campaign_db))
            ports = {name: free_port() for name in ("social", "course", "campaign")}
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            social = stack.start(
                "social",
                ["loadwatch", "serve", "social", "--port", str(ports["social"])],
                url=urls["social"],
            )
            course = stack.start(
                "course",
                [
                    "loadwatch",
                    "serve",
                    "course",
                    "--port",
                    str(ports["course"]),
                    "--database-url",
                    course_db,
                ],
                url=urls["course"],
            )
            campaign = stack.start(
                "campaign",
                [
                    "loadwatch",
                    "serve",
                    "campaign",
                    "--port",
                    str(ports["campaign"]),
                    "--database-url",
                    campaign_db,
                    "--social-url",
                    urls["social"],
                ],
                url=urls["campaign"],
            )
            for child in (social, course, campaign):
                stack.wait_healthy(child)
                print(
                    f"  {child.name:<8} {child.url}  (metrics {child.url}/metrics, "
                    f"live {child.url}/live/snapshot, log {child.log_path})",
                    flush=True,
                )
            print(
                f"\nrunning the mixed scenario: {rate:g} req/s for {duration_s:g} s\n", flush=True
            )
            options = LoadTestOptions(
                scenario="mixed",
                host=urls["course"],
                rate=rate,
                duration_s=duration_s,
                sla_path=sla_path,
                json_path=json_path,
                html_path=html_path,
                settings=ScenarioSettings(campaign_host=urls["campaign"]),
            )
            code = run_loadtest(options)
            print(f"\nreports: {json_path}\n         {html_path}")
            return code
    except StackError as exc:
        print(f"loadwatch demo: {exc}")
        return 3
    except KeyboardInterrupt:
        print("\nloadwatch demo: interrupted; stopping the services")
        return 3
    finally:
        stack.stop()
