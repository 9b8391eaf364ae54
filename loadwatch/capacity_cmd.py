"""`loadwatch capacity`: its flags and their translation into a `runs.capacity_run` search."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

from collector.exit_codes import ExitCode

__all__ = ["add_parser"]


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
        return value

    return parse


def _run(args: argparse.Namespace) -> int:
    from collector.units import UnitError, parse_duration
    from loadtests.options import UsageError, add_arguments, from_args
    from loadtests.stages import StagesError, parse_stage_duration
    from runs.capacity_run import CapacityBudget, run_capacity

    flags = [args.scenario, "--host", args.host, "--rate", args.start_rate]
    flags += ["--duration", args.probe]
    for flag, value in (("--sla", args.sla), ("--service", args.service)):
        if value is not None:
            flags += [flag, value]
    loadtest = argparse.ArgumentParser(prog="loadwatch capacity")
    add_arguments(loadtest)
    try:
        seconds: dict[str, float | None] = {}
        for flag in ("probe", "cooldown", "max_duration", "think_time"):
            text = getattr(args, flag)
            try:
                seconds[flag] = None if text is None else parse_duration(text)
            except UnitError as exc:
                raise UsageError(f"--{flag.replace('_', '-')}", str(exc)) from None
        try:
            ramp_s = None if args.ramp is None else parse_stage_duration(args.ramp)
        except StagesError as exc:
            raise UsageError("--ramp", str(exc)) from None
        options = from_args(loadtest.parse_args(flags))
    except UsageError as exc:
        print(f"loadwatch capacity: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    assert options.rate is not None
    if args.headroom > 100:
        print("loadwatch capacity: --headroom: expected a percentage up to 100", file=sys.stderr)
        return ExitCode.USAGE
    if args.max_rate is not None and args.max_rate < options.rate:
        print("loadwatch capacity: --max-rate: expected at least --start-rate", file=sys.stderr)
        return ExitCode.USAGE
    probe_s, cooldown_s, max_s = (seconds[k] for k in ("probe", "cooldown", "max_duration"))
    assert probe_s is not None and cooldown_s is not None and max_s is not None
    if ramp_s is not None and ramp_s >= probe_s:
        print(
            f"loadwatch capacity: --ramp: expected less than --probe ({probe_s:g} s), got"
            f" {args.ramp!r}",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    budget = CapacityBudget(
        start_rps=options.rate,
        max_rps=args.max_rate if args.max_rate is not None else 100_000.0,
        probe_s=probe_s,
        ramp_s=ramp_s,
        cooldown_s=cooldown_s,
        max_duration_s=max_s,
        max_probes=args.max_probes,
        headroom=args.headroom / 100.0,
        think_s=seconds["think_time"],
        json_path=args.json,
        html_path=args.html,
    )
    return run_capacity(options, budget)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `capacity` on the top-level sub-commands."""
    capacity = commands.add_parser(
        "capacity",
        help="find the highest open-model rate that keeps the SLA (ramp, then bisect)",
    )
    capacity.add_argument("scenario", help="a built-in scenario or a locustfile's path")
    capacity.add_argument("--host", required=True, help="base URL of the service under test")
    capacity.add_argument("--start-rate", default="50", metavar="RPS", help="first probe (50)")
    capacity.add_argument("--max-rate", type=_positive(float), metavar="RPS", help="never above")
    capacity.add_argument(
        "--probe", default="30s", metavar="DURATION", help="per probe, ramp included (30s)"
    )
    capacity.add_argument(
        "--ramp",
        metavar="DURATION",
        help="each probe's ramp from the highest passing rate; only the hold after it is"
        " judged (default: a fifth of --probe, at most 10s; 0s: none)",
    )
    capacity.add_argument("--cooldown", default="5s", metavar="DURATION", help="between (5s)")
    capacity.add_argument(
        "--max-duration", default="300s", metavar="DURATION", help="whole search (300s)"
    )
    capacity.add_argument("--max-probes", type=_positive(int), default=12, metavar="N")
    capacity.add_argument(
        "--headroom",
        type=_positive(float),
        default=80.0,
        metavar="PERCENT",
        help="the recommended operating point, in %% of the highest passing rate (80)",
    )
    capacity.add_argument(
        "--think-time",
        metavar="DURATION",
        help="a user's mean think time, for the users sizing (default: a built-in scenario's)",
    )
    capacity.add_argument("--sla", help="SLA file (default: nearest sla.yaml)")
    capacity.add_argument("--service", help="the sla.yaml service whose objectives judge it")
    capacity.add_argument("--json", type=Path, metavar="FILE", help="write the result here")
    capacity.add_argument("--html", type=Path, metavar="FILE", help="write the charts here")
    capacity.set_defaults(run=_run)
