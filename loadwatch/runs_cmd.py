"""`loadwatch history` and `loadwatch schedule`: their flags and their hand-off to `runs/`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from collector.exit_codes import ExitCode
from loadwatch.arg_types import positive_int

__all__ = ["add_parsers"]


def _schedule(args: argparse.Namespace) -> int:
    import signal
    import threading
    from dataclasses import replace

    from loadtests.options import UsageError, record_from_args
    from runs.schedule import ScheduleError, load_schedule
    from runs.scheduler import run_schedule

    try:
        config = load_schedule(args.config)
        grafana = record_from_args(args)  # only the --grafana-* flags are on this parser
    except (ScheduleError, UsageError) as exc:
        print(f"loadwatch schedule: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    config = replace(config, grafana_url=grafana.grafana_url, grafana_token=grafana.grafana_token)
    stop = threading.Event()
    # SIGTERM and Ctrl-C both stop cleanly: running load tests are told to stop and report.
    previous = {
        signum: signal.signal(signum, lambda _signum, _frame: stop.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        return run_schedule(config, stop=stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _history(args: argparse.Namespace) -> int:
    from runs.record import show_history

    return show_history(args.history_url, scenario=args.scenario, last=args.last, as_json=args.json)


def add_parsers(commands: Any) -> None:
    """Add `history` and `schedule` to the `loadwatch` subcommands (argparse's subparsers)."""
    history = commands.add_parser(
        "history", help="the recorded load-test runs, each against its baseline"
    )
    history.add_argument(
        "--history-url",
        metavar="URL",
        help="history database (default sqlite+aiosqlite:///var/history.sqlite3)",
    )
    history.add_argument("--scenario", help="only this scenario (name or locustfile path)")
    history.add_argument(
        "--last", type=positive_int, default=20, metavar="N", help="newest N runs (default 20)"
    )
    history.add_argument("--json", action="store_true", help="JSON for machines")
    history.set_defaults(run=_history)

    schedule = commands.add_parser(
        "schedule", help="run load tests on cron expressions and record them (until SIGTERM)"
    )
    schedule.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="schedule YAML (docs/history.md)"
    )
    schedule.add_argument("--grafana-url", metavar="URL", help="annotate each run in this Grafana")
    schedule.add_argument(
        "--grafana-token", metavar="TOKEN", help="default: $LOADWATCH_GRAFANA_TOKEN"
    )
    schedule.set_defaults(run=_schedule)
