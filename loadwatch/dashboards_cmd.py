"""`loadwatch dashboards` (write the Grafana JSON from sla.yaml) and `loadwatch dashboards push`
(upload it to Grafana): argument parsing and printing only."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from collector.exit_codes import ExitCode
from collector.sla import SLAError, load_sla, resolve_sla

__all__ = ["add_parser"]

TOKEN_ENV = "LOADWATCH_GRAFANA_TOKEN"


def _generate(args: argparse.Namespace) -> int:
    from dashboards.generate import build_all, write

    try:
        sla = load_sla(args.sla) if args.sla is not None else resolve_sla()
    except SLAError as exc:
        print(f"loadwatch: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    for path in write(build_all(sla), args.out):
        print(f"wrote {path}")
    return ExitCode.OK


def _push(args: argparse.Namespace) -> int:
    from dashboards.push import PushError, push_dashboards

    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"loadwatch dashboards push: --token (or ${TOKEN_ENV}) is required", file=sys.stderr)
        return ExitCode.USAGE
    files = sorted(args.dir.glob("*.json"))
    if not files:
        print(
            f"loadwatch dashboards push: no *.json in {args.dir} (run `loadwatch dashboards`)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    try:
        results = push_dashboards(files, args.grafana_url, token, folder=args.folder)
    except PushError as exc:
        print(f"loadwatch dashboards push: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    for result in results:
        print(f"pushed {result.uid} (version {result.version}): {args.grafana_url}{result.url}")
    return ExitCode.OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `dashboards` and `dashboards push` on the top-level sub-commands."""
    from dashboards.generate import JSON_DIR

    parser = commands.add_parser(
        "dashboards",
        help="write the Grafana dashboards generated from sla.yaml, or push them to Grafana",
        description="Without an action: write dashboards/json/*.json from the SLA file.",
    )
    parser.add_argument("--sla", type=Path, help="SLA file (default: the nearest sla.yaml)")
    parser.add_argument("--out", type=Path, default=JSON_DIR, help="where to write the JSON")
    parser.set_defaults(run=_generate)
    actions = parser.add_subparsers(dest="dashboards_action", metavar="ACTION")
    push = actions.add_parser("push", help="upload the generated JSON through Grafana's HTTP API")
    push.add_argument("--grafana-url", required=True, help="e.g. http://127.0.0.1:3000")
    push.add_argument("--token", help=f"a Grafana service-account token (default: ${TOKEN_ENV})")
    push.add_argument("--folder", help="the Grafana folder (by title; created when missing)")
    push.add_argument("--dir", type=Path, default=JSON_DIR, help="the JSON to upload")
    push.set_defaults(run=_push)
