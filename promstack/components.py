"""What each stack component is: binary, Debian package, port, command line (pure).

`stack_components(ports, config_dir, data_dir)` returns the three components in start order;
nothing here starts a process or reads the clock.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PORTS",
    "Component",
    "StackPorts",
    "missing_binaries",
    "stack_components",
]

PROMETHEUS_CONFIG = "prometheus.yml"
ALERTMANAGER_CONFIG = "alertmanager.yml"


@dataclass(frozen=True, slots=True)
class StackPorts:
    """The loopback TCP ports of the three components."""

    prometheus: int = 9090
    alertmanager: int = 9093
    pushgateway: int = 9091


DEFAULT_PORTS = StackPorts()


@dataclass(frozen=True, slots=True)
class Component:
    """One stack daemon: `argv` starts it in the foreground; `health_path` answers 200 when up."""

    name: str
    binary: str
    package: str
    port: int
    argv: tuple[str, ...]
    health_path: str = "/-/healthy"

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"


def stack_components(ports: StackPorts, config_dir: Path, data_dir: Path) -> tuple[Component, ...]:
    """Pushgateway, Alertmanager, Prometheus (the start order: Prometheus scrapes the others).

    Prometheus runs with native histograms on; Alertmanager's cluster port is disabled so
    that two stacks on one machine do not gossip.
    """
    listen = "127.0.0.1:{}".format
    return (
        Component(
            "pushgateway",
            "prometheus-pushgateway",
            "prometheus-pushgateway",
            ports.pushgateway,
            (
                "prometheus-pushgateway",
                f"--web.listen-address={listen(ports.pushgateway)}",
                f"--persistence.file={data_dir / 'pushgateway' / 'metrics.data'}",
                "--persistence.interval=1m",
            ),
        ),
        Component(
            "alertmanager",
            "prometheus-alertmanager",
            "prometheus-alertmanager",
            ports.alertmanager,
            (
                "prometheus-alertmanager",
                f"--config.file={config_dir / ALERTMANAGER_CONFIG}",
                f"--storage.path={data_dir / 'alertmanager'}",
                f"--web.listen-address={listen(ports.alertmanager)}",
                "--cluster.listen-address=",
            ),
        ),
        Component(
            "prometheus",
            "prometheus",
            "prometheus",
            ports.prometheus,
            (
                "prometheus",
                f"--config.file={config_dir / PROMETHEUS_CONFIG}",
                f"--storage.tsdb.path={data_dir / 'prometheus'}",
                f"--web.listen-address={listen(ports.prometheus)}",
                "--web.enable-lifecycle",
                "--enable-feature=native-histograms",
            ),
        ),
    )


def missing_binaries(
    components: Sequence[Component], which: Callable[[str], str | None] = shutil.which
) -> list[str]:
    """One line per absent binary, naming the Debian package that brings it."""
    return [
        f"{c.binary} is not installed (apt-get install {c.package})"
        for c in components
        if which(c.binary) is None
    ]
