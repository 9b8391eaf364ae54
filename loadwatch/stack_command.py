"""`loadwatch stack up|down|status`: the local Prometheus, Alertmanager and Pushgateway.

`up` writes the configuration generated from the SLA (scraping the reference services and
the receiver at their default ports) and the receiver's token file, then starts whatever is
not running; the daemons outlive the command. Exit codes: 2 when a binary is missing (one
line naming the package) or the SLA file is bad, 3 when a daemon cannot start (`up`) or is
not healthy (`status`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from collector.exit_codes import ExitCode
from collector.sla import SLAError, resolve_sla
from promstack.components import StackPorts, missing_binaries
from promstack.configure import TOKEN_FILE, config_writer, ensure_token, stack_addresses
from promstack.stack import StackError, StackLayout, down, status, up
from promstack.status import render_status

__all__ = ["StackOptions", "run_stack"]

_SCRAPED = ("course", "campaign", "social")
"""The reference services Prometheus scrapes at their default ports (plus the receiver)."""


@dataclass(frozen=True, slots=True)
class StackOptions:
    """Where the stack lives and listens (loopback ports)."""

    root: Path
    prometheus_port: int
    alertmanager_port: int
    pushgateway_port: int
    receiver_port: int

    def layout(self) -> StackLayout:
        ports = StackPorts(self.prometheus_port, self.alertmanager_port, self.pushgateway_port)
        return StackLayout(root=self.root, ports=ports)


def run_stack(action: str, options: StackOptions, *, sla_path: Path | None) -> int:
    """Run `action` ('up', 'down' or 'status'); returns the exit code."""
    layout = options.layout()
    if action == "down":
        down(layout)
        return ExitCode.OK
    if action == "status":
        state = status(layout)
        print(render_status(state), end="")
        return ExitCode.OK if all(ok for _, ok in state.components) else ExitCode.UNREACHABLE
    missing = missing_binaries(layout.components())
    if missing:
        print(f"loadwatch stack: {'; '.join(missing)}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        sla = resolve_sla(sla_path)
    except SLAError as exc:
        print(f"loadwatch stack: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    from loadwatch.services import DEFAULT_PORTS

    token_path = layout.root / TOKEN_FILE
    ensure_token(token_path)
    targets = {name: f"127.0.0.1:{DEFAULT_PORTS[name]}" for name in _SCRAPED}
    addresses = stack_addresses(layout.ports, receiver_port=options.receiver_port)
    try:
        up(layout, config_writer(sla, targets, addresses))
    except StackError as exc:
        print(f"loadwatch stack: {exc}", file=sys.stderr)
        return ExitCode.UNREACHABLE
    print(
        f"receiver token: {token_path} (start the receiver with "
        f'LOADWATCH_RECEIVER_TOKEN="$(cat {token_path})" loadwatch serve receiver '
        f"--port {options.receiver_port})"
    )
    return ExitCode.OK
