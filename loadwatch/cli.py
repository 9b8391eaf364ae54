"""`loadwatch` command line: parses arguments and dispatches; the work lives elsewhere.

Exit codes: `collector.exit_codes.ExitCode` (0 success, 1 an SLA objective failed or the
run cannot be trusted, 2 bad usage or configuration, 3 target unreachable or run aborted).
"""

from __future__ import annotations

import os

# Before numpy is first imported (collector imports it): one OpenBLAS thread per process.
# Its worker threads otherwise spin after every matmul of the batched model and take a
# whole core from the event loop and the database threads on a 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collector.exit_codes import ExitCode
from collector.sla import OBJECTIVE_KEYS, SLA, SLAError, load_sla, resolve_sla
from loadwatch import capacity_cmd, dashboards_cmd, runs_cmd
from loadwatch.arg_types import demo_seconds, port, positive_float, positive_int

__all__ = ["build_parser", "main"]


def _print_sla(sla: SLA) -> None:
    print(f"{sla.source}: valid")
    width = max(len(name) for name in OBJECTIVE_KEYS)
    print("objectives:")
    for name, text in sla.objectives.describe():
        print(f"  {name:<{width}}  {text}")
    if sla.objectives.not_stated():
        print(f"  not judged: {', '.join(sla.objectives.not_stated())}")
    defaults = dict(sla.objectives.describe())
    for service in sla.services.values():
        changed = _changed(defaults, dict(service.objectives.describe()))
        print(f"service {service.name}:" + ("" if changed else " (defaults)"))
        for name, text in changed:
            print(f"  {name:<{width}}  {text}")
        for route, objectives in service.routes.items():
            print(f"  route {route}:")
            base = dict(service.objectives.describe())
            for name, text in _changed(base, dict(objectives.describe())):
                print(f"    {name:<{width}}  {text}")


def _changed(base: dict[str, str], objectives: dict[str, str]) -> list[tuple[str, str]]:
    """The objectives that differ from `base`, in file order; a dropped one reads 'not judged'."""
    rows = []
    for name in OBJECTIVE_KEYS:
        text = objectives.get(name, "not judged")
        if base.get(name, "not judged") != text:
            rows.append((name, text))
    return rows


def _cmd_sla_check(args: argparse.Namespace) -> int:
    try:
        sla = load_sla(args.file) if args.file is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    _print_sla(sla)
    from alert_rules.slo import unreachable_alerts

    for warning in unreachable_alerts(sla):
        print(f"warning: {warning}")
    return ExitCode.OK


def _cmd_rules(args: argparse.Namespace) -> int:
    from alert_rules.generate import generate, write
    from alert_rules.slo import unreachable_alerts
    from loadwatch.services import DEFAULT_PORTS

    try:
        sla = load_sla(args.sla) if args.sla is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    targets = {name: f"127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
    for path in write(generate(sla, targets), args.out):
        print(f"wrote {path}")
    for warning in unreachable_alerts(sla):
        print(f"warning: {warning}", file=sys.stderr)
    return ExitCode.OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from loadwatch.demo import run_demo

    try:
        sla = load_sla(args.sla) if args.sla is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return run_demo(sla, sla_path=args.sla, rate=args.rate, duration_s=args.duration)


def _cmd_stack(args: argparse.Namespace) -> int:
    from loadwatch.stack_command import StackOptions, run_stack

    options = StackOptions(
        root=args.dir,
        prometheus_port=args.prometheus_port,
        alertmanager_port=args.alertmanager_port,
        pushgateway_port=args.pushgateway_port,
        receiver_port=args.receiver_port,
    )
    return run_stack(args.action, options, sla_path=args.sla)


def _cmd_serve(args: argparse.Namespace) -> int:
    from loadwatch.services import run_serve

    if args.service == "stream":
        return _cmd_serve_stream(args)
    if args.target or args.receiver:
        print(
            f"loadwatch serve {args.service}: --target and --receiver are for `serve stream`",
            file=sys.stderr,
        )
        return ExitCode.USAGE

    try:
        sla = load_sla(args.sla) if args.sla is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch serve {args.service}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return run_serve(
        args.service,
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        redis_url=args.redis_url,
        social_url=args.social_url,
        platforms=args.platform,
        token=args.token,
        forward_config=args.forward_config,
        sla=sla,
    )


def _cmd_serve_stream(args: argparse.Namespace) -> int:
    from loadwatch.stream_command import run_stream

    return run_stream(
        args.target,
        receiver=args.receiver,
        token=args.token,
        sla_path=args.sla,
        host=args.host,
        port=args.port,
    )


def _cmd_seed(args: argparse.Namespace) -> int:
    from loadwatch.services import SeedSizes, run_seed

    sizes = SeedSizes(users=args.users, courses=args.courses, campaigns=args.campaigns)
    return run_seed(database_url=args.database_url, sizes=sizes, reset=args.reset)


def _cmd_loadtest(args: argparse.Namespace) -> int:
    from loadtests.options import UsageError, from_args, record_from_args
    from loadtests.result import show_result
    from loadtests.runner import run_loadtest

    try:
        options = from_args(args)
        recording = record_from_args(args)
    except UsageError as exc:
        print(f"loadwatch loadtest: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    result = run_loadtest(options)
    code = show_result(result, options)
    if recording.record or recording.pushgateway_url or recording.grafana_url:
        from runs.record import after_run

        return after_run(result, recording, code)
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="loadwatch",
        description="SLA observability and load testing driven by one sla.yaml.",
        epilog="exit codes:\n" + "\n".join(f"  {code.value}  {code.meaning}" for code in ExitCode),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sla = commands.add_parser("sla", help="inspect sla.yaml")
    sla_commands = sla.add_subparsers(dest="sla_command", metavar="ACTION", required=True)
    check = sla_commands.add_parser(
        "check",
        help="validate an SLA file and print its objectives (exit 2 when invalid)",
    )
    check.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="the file to check (default: the nearest sla.yaml, else the built-in defaults)",
    )
    check.set_defaults(run=_cmd_sla_check)

    rules = commands.add_parser(
        "rules",
        help="generate Prometheus rules, promtool tests, prometheus.yml and alertmanager.yml",
    )
    rules.add_argument("--sla", type=Path, help="SLA file (default: nearest sla.yaml)")
    rules.add_argument(
        "--out",
        type=Path,
        default=Path("alert_rules/generated"),
        help="directory to write (default alert_rules/generated)",
    )
    rules.set_defaults(run=_cmd_rules)
    dashboards_cmd.add_parser(commands)

    demo = commands.add_parser(
        "demo",
        help="seed SQLite, start the reference services, load-test them against the SLA",
    )
    demo.add_argument(
        "--duration", type=demo_seconds, default=60.0, help="seconds of load (default 60)"
    )
    demo.add_argument(
        "--rate", type=positive_float, default=100.0, help="requests per second (default 100)"
    )
    demo.add_argument("--sla", type=Path, help="SLA file (default: nearest sla.yaml)")
    demo.set_defaults(run=_cmd_demo)

    from loadwatch.services import DEFAULT_PORTS, SERVICES, SeedSizes
    from promstack.components import DEFAULT_PORTS as STACK_PORTS
    from promstack.stack import DEFAULT_STACK_DIR

    stack = commands.add_parser(
        "stack",
        help="start, stop or inspect a local Prometheus, Alertmanager and Pushgateway",
        description="up: write the configuration generated from the SLA and start the "
        "daemons detached (exit 2 when a binary is missing); down: stop them; status: "
        "health, scrape targets and firing alerts (exit 3 unless every daemon is healthy).",
    )
    stack.add_argument("action", choices=("up", "down", "status"))
    stack.add_argument("--sla", type=Path, help="SLA file (default: nearest sla.yaml)")
    stack.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_STACK_DIR,
        help=f"config, data, pid files and logs (default {DEFAULT_STACK_DIR})",
    )
    stack.add_argument("--prometheus-port", type=port, default=STACK_PORTS.prometheus)
    stack.add_argument("--alertmanager-port", type=port, default=STACK_PORTS.alertmanager)
    stack.add_argument("--pushgateway-port", type=port, default=STACK_PORTS.pushgateway)
    stack.add_argument(
        "--receiver-port",
        type=port,
        default=DEFAULT_PORTS["receiver"],
        help="where Alertmanager posts and Prometheus scrapes the receiver "
        f"(default {DEFAULT_PORTS['receiver']})",
    )
    stack.set_defaults(run=_cmd_stack)

    serve = commands.add_parser(
        "serve",
        help="run a reference service, the alert receiver or the stream hub (stream) until Ctrl-C",
    )
    serve.add_argument("service", choices=(*SERVICES, "stream"))
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--sla",
        type=Path,
        help="SLA file: its thresholds become histogram buckets, and the stream hub judges "
        "against it (default: nearest sla.yaml)",
    )
    serve.add_argument(
        "--port",
        type=port,
        help="port (default: "
        + ", ".join(f"{name} {port}" for name, port in DEFAULT_PORTS.items())
        + ", stream 8105)",
    )
    serve.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL",
        help="stream: a service or load generator to pull /live/snapshot from (repeat)",
    )
    serve.add_argument(
        "--receiver",
        metavar="URL",
        help="stream: the alert receiver whose firing alerts the message carries "
        "(its token: --token or $LOADWATCH_RECEIVER_TOKEN)",
    )
    serve.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: SQLite in var/; e.g. postgresql+asyncpg://user@host/db)",
    )
    serve.add_argument("--redis-url", help="Redis for L2 cache and shared rate limits")
    serve.add_argument("--social-url", help="fake social platforms (campaign service)")
    serve.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="NAME:MEDIAN[:ERRORS[:P99]]",
        help="social service: a platform's latency and error rate, e.g. twitter:50ms:1%%",
    )
    serve.add_argument(
        "--token",
        help="receiver: the bearer token Alertmanager sends; stream: the one it sends to "
        "--receiver (default: $LOADWATCH_RECEIVER_TOKEN)",
    )
    serve.add_argument(
        "--forward-config",
        type=Path,
        metavar="FILE",
        help="receiver: YAML of forwarding destinations (see docs/receiver.md)",
    )
    serve.set_defaults(run=_cmd_serve)

    seed = commands.add_parser("seed", help="fill the reference services' databases")
    seed.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in var/)")
    sizes = SeedSizes()
    seed.add_argument("--users", type=positive_int, default=sizes.users)
    seed.add_argument("--courses", type=positive_int, default=sizes.courses)
    seed.add_argument("--campaigns", type=positive_int, default=sizes.campaigns)
    seed.add_argument("--reset", action="store_true", help="drop and recreate the tables first")
    seed.set_defaults(run=_cmd_seed)

    from loadtests.options import add_arguments as add_loadtest_arguments

    loadtest = commands.add_parser(
        "loadtest",
        help="run a Locust scenario against a service and judge it by the SLA (exit 0/1/2/3)",
    )
    add_loadtest_arguments(loadtest)
    loadtest.set_defaults(run=_cmd_loadtest)

    runs_cmd.add_parsers(commands)
    capacity_cmd.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit code (argparse usage errors exit 2 themselves)."""
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
