"""The configuration a stack runs with: rules, prometheus.yml and alertmanager.yml generated
from the SLA for the stack's actual ports, and the receiver's bearer-token file.

`config_writer(...)` returns the `write_config` that `promstack.stack.up` calls with the
config folder; `ensure_token(path)` creates the token file (random, mode 0600) when absent.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from alert_rules.configs import StackAddresses
from alert_rules.generate import ALERTMANAGER_FILE, PROMETHEUS_FILE, RULES_FILE, generate
from collector.sla import SLA
from promstack.components import StackPorts

__all__ = ["TOKEN_FILE", "config_writer", "ensure_token", "stack_addresses"]

TOKEN_FILE = "receiver.token"
"""The receiver's bearer token, in the stack folder (next to config/)."""

_TOKEN_BYTES = 32


def ensure_token(path: Path) -> str:
    """The token stored in `path`, created first (urlsafe random, 0600) when absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(_TOKEN_BYTES))
    return path.read_text(encoding="utf-8").strip()


def stack_addresses(
    ports: StackPorts, *, receiver_port: int, scrape_interval: str = "15s"
) -> StackAddresses:
    """Where Prometheus finds Alertmanager, the Pushgateway and the receiver on loopback.

    The token file is given relative to config/ (where alertmanager.yml lives).
    """
    receiver = f"127.0.0.1:{receiver_port}"
    return StackAddresses(
        alertmanager=f"127.0.0.1:{ports.alertmanager}",
        pushgateway=f"127.0.0.1:{ports.pushgateway}",
        receiver_url=f"http://{receiver}/alerts",
        receiver_metrics=receiver,
        token_file=f"../{TOKEN_FILE}",
        scrape_interval=scrape_interval,
        evaluation_interval=scrape_interval,
    )


def config_writer(
    sla: SLA, targets: Mapping[str, str], addresses: StackAddresses
) -> Callable[[Path], None]:
    """`write_config(config_dir)`: writes the rules, prometheus.yml and alertmanager.yml.

    `targets` maps service name -> host:port of its /metrics. The token file must exist
    in the config folder's parent (`ensure_token`) before Alertmanager starts.
    """

    def write(config_dir: Path) -> None:
        files = generate(sla, targets, stack=addresses)
        for name in (RULES_FILE, PROMETHEUS_FILE, ALERTMANAGER_FILE):
            (config_dir / name).write_text(files[name], encoding="utf-8")

    return write
