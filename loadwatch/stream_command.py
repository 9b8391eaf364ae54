"""`loadwatch serve stream`: check the flags, then run the stream hub until SIGINT/SIGTERM.

Exit code 2 (usage) on no target, a bad target or receiver URL, or a bad SLA file; the
receiver's bearer token comes from `--token` or `$LOADWATCH_RECEIVER_TOKEN` (the
environment variable is not visible in `ps`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from collector.exit_codes import ExitCode
from collector.sla import SLAError, load_sla, resolve_sla
from livehub.alerts import receiver_alerts_url
from livehub.state import snapshot_url

__all__ = ["TOKEN_ENV", "run_stream"]

TOKEN_ENV = "LOADWATCH_RECEIVER_TOKEN"


def run_stream(
    targets: Sequence[str],
    *,
    receiver: str | None,
    token: str | None,
    sla_path: Path | None,
    host: str,
    port: int | None,
) -> int:
    """Validate, then serve the hub (blocks); returns the exit code."""
    from livehub.server import DEFAULT_PORT, run_hub

    if not targets:
        print("loadwatch serve stream: expected at least one --target URL", file=sys.stderr)
        return ExitCode.USAGE
    try:
        for target in targets:
            snapshot_url(target)
        if receiver is not None:
            receiver_alerts_url(receiver)
        sla = load_sla(sla_path) if sla_path is not None else resolve_sla()
    except (ValueError, SLAError) as exc:
        print(f"loadwatch serve stream: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    bearer = (token or os.environ.get(TOKEN_ENV) or None) if receiver is not None else None
    return run_hub(
        targets,
        sla=sla,
        host=host,
        port=DEFAULT_PORT if port is None else port,
        receiver=receiver,
        receiver_token=bearer,
    )
