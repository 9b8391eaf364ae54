"""`loadwatch` command line: parses arguments and dispatches; the work lives elsewhere.

Exit codes: 0 success, 1 an SLA objective failed, 2 bad usage or configuration,
3 target unreachable or run aborted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collector.sla import SLA, SLAError, load_sla, resolve_sla

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3


def _print_sla(sla: SLA) -> None:
    print(f"{sla.source}: valid")
    width = max(len(name) for name, _ in sla.objectives.describe())
    print("objectives:")
    for name, text in sla.objectives.describe():
        print(f"  {name:<{width}}  {text}")
    defaults = dict(sla.objectives.describe())
    for service in sla.services.values():
        changed = [(n, t) for n, t in service.objectives.describe() if defaults[n] != t]
        print(f"service {service.name}:" + ("" if changed else " (defaults)"))
        for name, text in changed:
            print(f"  {name:<{width}}  {text}")
        for route, objectives in service.routes.items():
            base = dict(service.objectives.describe())
            print(f"  route {route}:")
            for name, text in objectives.describe():
                if base[name] != text:
                    print(f"    {name:<{width}}  {text}")


def _cmd_sla_check(args: argparse.Namespace) -> int:
    try:
        sla = load_sla(args.file) if args.file is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _print_sla(sla)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from loadwatch.demo import run_demo

    try:
        sla = load_sla(args.sla) if args.sla is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return run_demo(sla, host=args.host, port=args.port, duration_s=args.duration, rate=args.rate)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="loadwatch",
        description="SLA observability and load testing driven by one sla.yaml.",
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

    demo = commands.add_parser(
        "demo", help="start an instrumented service, drive traffic at it, show live KPIs"
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    demo.add_argument(
        "--duration", type=_positive_float, default=15.0, help="seconds of traffic (default 15)"
    )
    demo.add_argument(
        "--rate", type=_positive_float, default=200.0, help="requests per second (default 200)"
    )
    demo.add_argument("--sla", type=Path, help="SLA file (default: nearest sla.yaml)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit code (argparse usage errors exit 2 themselves)."""
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
