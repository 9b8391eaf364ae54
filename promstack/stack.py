"""`loadwatch stack up|down|status`: the three daemons as one stack under one folder.

Layout under the stack folder (default ``var/stack``): ``config/`` (generated Prometheus and
Alertmanager configuration and rules), ``data/`` (TSDB, silences, pushed metrics) and
``run/`` (pid files and logs). `up` is idempotent: components already up are left alone.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from promstack.components import (
    DEFAULT_PORTS,
    Component,
    StackPorts,
    missing_binaries,
    stack_components,
)
from promstack.daemons import (
    DaemonError,
    find_running,
    log_tail,
    start_daemon,
    stop_daemon,
    wait_until,
)
from promstack.status import StackStatus, healthy, read_status

__all__ = ["DEFAULT_STACK_DIR", "StackError", "StackLayout", "down", "status", "up"]

DEFAULT_STACK_DIR = Path("var/stack")
START_TIMEOUT_S = 30.0


class StackError(RuntimeError):
    """The stack cannot start: a binary is missing, a port is taken, or a daemon failed."""


@dataclass(frozen=True, slots=True)
class StackLayout:
    """Where one stack keeps its configuration, data, pid files and logs, and its ports."""

    root: Path = DEFAULT_STACK_DIR
    ports: StackPorts = DEFAULT_PORTS

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def state_dir(self) -> Path:
        return self.root / "run"

    def components(self) -> tuple[Component, ...]:
        return stack_components(self.ports, self.config_dir.resolve(), self.data_dir.resolve())


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def up(
    layout: StackLayout,
    write_config: Callable[[Path], None],
    report: Callable[[str], None] = print,
) -> None:
    """Write the configuration, then start every component that is not already up.

    Raises StackError (nothing left running that this call started) when a binary is missing,
    a port is held by another process, or a component does not become healthy in 30 s.
    """
    components = layout.components()
    missing = missing_binaries(components)
    if missing:
        raise StackError("; ".join(missing))
    layout.config_dir.mkdir(parents=True, exist_ok=True)
    write_config(layout.config_dir)
    started = []
    try:
        for component in components:
            running = find_running(layout.state_dir, component.name)
            if running is not None:
                report(f"{component.name}: already up at {component.url} (pid {running.pid})")
                continue
            if _port_taken(component.port):
                raise StackError(
                    f"{component.name}: port {component.port} on 127.0.0.1 is taken by another "
                    "process (choose other ports or stop it)"
                )
            (layout.data_dir / component.name).mkdir(parents=True, exist_ok=True)
            daemon = start_daemon(component, layout.state_dir)
            started.append(daemon)
            if not wait_until(partial(healthy, component), START_TIMEOUT_S):
                raise StackError(
                    f"{component.name} did not become healthy within {START_TIMEOUT_S:g} s; "
                    f"its log ({daemon.log_path}) ends with:\n{log_tail(daemon.log_path)}"
                )
            report(f"{component.name}: up at {component.url} (pid {daemon.pid})")
    except (StackError, DaemonError):
        for daemon in reversed(started):
            stop_daemon(daemon, layout.state_dir)
        raise


def down(layout: StackLayout, report: Callable[[str], None] = print) -> int:
    """Stop every running component (Prometheus first); returns how many were stopped."""
    stopped = 0
    for component in reversed(layout.components()):
        running = find_running(layout.state_dir, component.name)
        if running is None:
            report(f"{component.name}: not running")
            continue
        stop_daemon(running, layout.state_dir)
        report(f"{component.name}: stopped (pid {running.pid})")
        stopped += 1
    return stopped


def status(layout: StackLayout) -> StackStatus:
    """Health, scrape targets and firing alerts of the stack in `layout`."""
    return read_status(
        tuple((c, find_running(layout.state_dir, c.name) is not None) for c in layout.components())
    )
