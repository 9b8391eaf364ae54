"""`loadwatch demo`: the whole loop on one machine with embedded defaults.

Seeds SQLite under var/demo/, starts the social, course and campaign services as child
processes on free 127.0.0.1 ports, runs the mixed Locust scenario against them (open
model, `rate` req/s for `duration_s`), prints the verdict table and the report paths,
and stops everything: Ctrl-C safe, no orphans. The exit code is the load test's
(`collector.exit_codes.ExitCode`), or UNREACHABLE when a service does not start and
ABORTED when interrupted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

from collector.exit_codes import ExitCode
from collector.sla import SLA
from loadwatch.services import SeedSizes, seed_databases
from reference_services.settings import ServiceSettings
from runtime.ports import free_port
from runtime.processes import ChildError, Output, ProcessGroup, python_command, terminate_on_sigterm

__all__ = ["run_demo"]

_SIZES = SeedSizes()


def _seed(course_url: str, campaign_url: str) -> None:
    """Fill both SQLite files from scratch and print one line per service."""
    course = ServiceSettings.build("course", database_url=course_url)
    campaign = ServiceSettings.build("campaign", database_url=campaign_url)
    reports = asyncio.run(
        seed_databases(course, campaign, _SIZES, reset=True, progress=lambda line: None)
    )
    for name, report in reports.items():
        rows = sum(report.rows.values())
        print(f"  {name + ':':<9} {rows:,} rows in {report.elapsed_s:.1f} s", flush=True)


def run_demo(
    sla: SLA,
    *,
    sla_path: Path | None,
    rate: float,
    duration_s: float,
    data_dir: Path = Path("var/demo"),
    reports_dir: Path = Path("reports"),
) -> ExitCode:
    """Run the demo; returns the exit code."""
    from loadtests.options import LoadTestOptions
    from loadtests.result import show_result
    from loadtests.runner import run_loadtest
    from loadtests.scenarios.common import ScenarioSettings

    data_dir.mkdir(parents=True, exist_ok=True)
    reports_dir.mkdir(parents=True, exist_ok=True)
    course_db = f"sqlite+aiosqlite:///{data_dir / 'course.sqlite3'}"
    campaign_db = f"sqlite+aiosqlite:///{data_dir / 'campaign.sqlite3'}"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = reports_dir / f"demo-{stamp}.json"
    html_path = reports_dir / f"demo-{stamp}.html"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    print(f"loadwatch demo: SLA from {sla.source}")
    try:
        with terminate_on_sigterm(), ProcessGroup(log_dir=data_dir / "logs") as group:
            print(f"seeding SQLite in {data_dir}/ ...", flush=True)
            _seed(course_db, campaign_db)
            ports = {name: free_port() for name in ("social", "course", "campaign")}
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            flags = {
                "social": [],
                "course": ["--database-url", course_db],
                "campaign": ["--database-url", campaign_db, "--social-url", urls["social"]],
            }
            children = [
                group.start(
                    name,
                    python_command("loadwatch", "serve", name, "--port", str(port), *flags[name]),
                    env=env,
                    url=urls[name],
                    output=Output.LOG,
                )
                for name, port in ports.items()
            ]
            for child in children:
                group.wait_ready(child)
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
            code = show_result(run_loadtest(options), options)
            print(f"\nreports: {json_path}\n         {html_path}")
            return code
    except ChildError as exc:
        print(f"loadwatch demo: {exc}")
        return ExitCode.UNREACHABLE
    except KeyboardInterrupt:
        print("\nloadwatch demo: interrupted; the services are stopped")
        return ExitCode.ABORTED
