"""`loadwatch demo`: the whole loop on one machine with embedded defaults.

Seeds SQLite under var/demo/, starts the social, course and campaign services as child
processes on free 127.0.0.1 ports, and, when the binaries are installed, the alert
receiver and a Prometheus + Alertmanager + Pushgateway stack under var/demo/stack/ that
scrapes them all (otherwise one line says how to install them). Runs the mixed Locust
scenario against them (open model, `rate` req/s for `duration_s`, `--prometheus` when the
stack runs), prints the verdict table and the report paths, and stops everything it
started: Ctrl-C safe, no orphans. The exit code is the load test's
(`collector.exit_codes.ExitCode`), or UNREACHABLE when a service does not start and
ABORTED when interrupted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from collector.exit_codes import ExitCode
from collector.sla import SLA
from loadwatch.services import SeedSizes, seed_databases
from promstack.components import StackPorts
from promstack.configure import TOKEN_FILE, config_writer, ensure_token, stack_addresses
from promstack.stack import StackError, StackLayout, down, up
from reference_services.settings import ServiceSettings
from runtime.ports import free_port
from runtime.processes import ChildError, Output, ProcessGroup, python_command, terminate_on_sigterm

__all__ = ["run_demo"]

_SIZES = SeedSizes()
HUB = "stream"
"""`loadwatch serve stream`: the live page's hub."""
_SCRAPE_INTERVAL = "1s"
"""The stack scrapes every second so that even a short demo has server-side figures."""


def _no_flags(urls: Mapping[str, str]) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class _Service:
    """One child the demo starts with `loadwatch serve <name>`: `flags(urls)` gives its
    extra flags from every child's base URL; `env` is added to its environment."""

    name: str
    flags: Callable[[Mapping[str, str]], tuple[str, ...]] = _no_flags
    env: Mapping[str, str] = field(default_factory=dict)


def _services(
    data_dir: Path, receiver_token: str | None, generator_live_url: str
) -> list[_Service]:
    """The demo's children in start order: one more child is one more entry here. The
    receiver runs only with a stack (its only sender); the stream hub last, pulling every
    service's and the load generator's live snapshot, and the receiver's firing alerts."""
    course_db = f"sqlite+aiosqlite:///{data_dir / 'course.sqlite3'}"
    campaign_db = f"sqlite+aiosqlite:///{data_dir / 'campaign.sqlite3'}"
    services = [
        _Service("social"),
        _Service("course", lambda urls: ("--database-url", course_db)),
        _Service(
            "campaign",
            lambda urls: ("--database-url", campaign_db, "--social-url", urls["social"]),
        ),
    ]
    if receiver_token is not None:
        receiver_db = f"sqlite+aiosqlite:///{data_dir / 'receiver.sqlite3'}"
        services.append(
            _Service(
                "receiver",
                lambda urls: ("--database-url", receiver_db),
                {"LOADWATCH_RECEIVER_TOKEN": receiver_token},
            )
        )
    measured = [s.name for s in services if s.name != "receiver"]

    def hub_flags(urls: Mapping[str, str]) -> tuple[str, ...]:
        targets = [urls[name] for name in measured] + [generator_live_url]
        receiver = ("--receiver", urls["receiver"]) if receiver_token is not None else ()
        return (*(flag for url in targets for flag in ("--target", url)), *receiver)

    hub_env = {} if receiver_token is None else {"LOADWATCH_RECEIVER_TOKEN": receiver_token}
    services.append(_Service(HUB, hub_flags, hub_env))
    return services


def _command(service: _Service, urls: Mapping[str, str], sla_path: Path | None) -> list[str]:
    """`loadwatch serve` for `service` on its port, with the demo's SLA file when given
    (without one, each child finds the same nearest sla.yaml the demo did)."""
    port = urls[service.name].rsplit(":", 1)[1]
    sla = ("--sla", str(sla_path)) if sla_path is not None else ()
    return python_command(
        "loadwatch", "serve", service.name, "--port", port, *sla, *service.flags(urls)
    )


def _stack_layout(data_dir: Path) -> StackLayout | None:
    """The demo's own stack on free ports, or None (and one line) when a binary is missing."""
    layout = StackLayout(
        root=data_dir / "stack", ports=StackPorts(free_port(), free_port(), free_port())
    )
    packages = [c.package for c in layout.components() if shutil.which(c.binary) is None]
    if packages:
        print(f"no Prometheus stack in this demo: apt-get install {' '.join(packages)}", flush=True)
        return None
    down(layout, report=lambda line: None)  # a stack left by a killed demo
    return layout


def _start_stack(
    layout: StackLayout, sla: SLA, urls: Mapping[str, str], receiver: str
) -> str | None:
    """Start the stack scraping every service in `urls`; its Prometheus URL, or None (with
    one line saying why) when it does not start."""
    targets = {name: url.removeprefix("http://") for name, url in urls.items()}
    targets.pop(receiver, None)
    addresses = stack_addresses(
        layout.ports,
        receiver_port=int(urls[receiver].rsplit(":", 1)[1]),
        scrape_interval=_SCRAPE_INTERVAL,
    )
    try:
        up(layout, config_writer(sla, targets, addresses), report=lambda line: None)
    except StackError as exc:
        print(f"the Prometheus stack did not start, running without it: {exc}", flush=True)
        return None
    prometheus = next(c for c in layout.components() if c.name == "prometheus")
    alertmanager = next(c for c in layout.components() if c.name == "alertmanager")
    print(
        f"  {'stack':<8} Prometheus {prometheus.url}, Alertmanager {alertmanager.url} "
        f"(logs in {layout.state_dir})",
        flush=True,
    )
    return prometheus.url


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
    """Run the demo; returns the exit code. `sla_path` (when given) goes to every service."""
    from loadtests.options import LoadTestOptions
    from loadtests.result import show_result
    from loadtests.runner import run_loadtest
    from loadtests.scenarios.common import ScenarioSettings

    data_dir.mkdir(parents=True, exist_ok=True)
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = reports_dir / f"demo-{stamp}.json"
    html_path = reports_dir / f"demo-{stamp}.html"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    print(f"loadwatch demo: SLA from {sla.source}")
    layout = _stack_layout(data_dir)
    token = ensure_token(layout.root / TOKEN_FILE) if layout is not None else None
    try:
        with terminate_on_sigterm(), ProcessGroup(log_dir=data_dir / "logs") as group:
            print(f"seeding SQLite in {data_dir}/ ...", flush=True)
            _seed(
                f"sqlite+aiosqlite:///{data_dir / 'course.sqlite3'}",
                f"sqlite+aiosqlite:///{data_dir / 'campaign.sqlite3'}",
            )
            live_port = free_port()
            services = _services(data_dir, token, f"http://127.0.0.1:{live_port}")
            urls = {s.name: f"http://127.0.0.1:{free_port()}" for s in services}
            children = [
                group.start(
                    service.name,
                    _command(service, urls, sla_path),
                    env={**env, **service.env},
                    url=urls[service.name],
                    output=Output.LOG,
                )
                for service in services
            ]
            for child in children:
                group.wait_ready(child)
                about = (
                    f"the live page's hub, log {child.log_path}"
                    if child.name == HUB
                    else f"metrics {child.url}/metrics, live {child.url}/live/snapshot, "
                    f"log {child.log_path}"
                )
                print(f"  {child.name:<8} {child.url}  ({about})", flush=True)
            print(
                f"\nlive page: {urls[HUB]}/  (updates every second while the demo runs)",
                flush=True,
            )
            scraped = {name: url for name, url in urls.items() if name != HUB}
            prometheus = (
                _start_stack(layout, sla, scraped, "receiver") if layout is not None else None
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
                prometheus_url=prometheus,
                live_port=live_port,
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
    finally:
        if layout is not None:
            down(layout, report=lambda line: None)
