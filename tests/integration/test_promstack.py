"""`loadwatch stack`'s daemons for real: Prometheus, Alertmanager and Pushgateway on free
loopback ports, started detached, found again through their pid files, stopped cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil
import pytest

from promstack.components import StackPorts
from promstack.daemons import find_running
from promstack.stack import StackError, StackLayout, down, status, up
from tests.conftest import require_tool

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _minimal_config(ports: StackPorts):  # type: ignore[no-untyped-def]
    def write(config_dir: Path) -> None:
        (config_dir / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: pushgateway\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{ports.pushgateway}']}}]\n"
        )
        (config_dir / "alertmanager.yml").write_text(
            "route: {receiver: 'null'}\nreceivers: [{name: 'null'}]\n"
        )

    return write


@pytest.fixture
def layout(tmp_path: Path):  # type: ignore[no-untyped-def]
    for tool in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway"):
        require_tool(tool)
    ports = StackPorts(_free_port(), _free_port(), _free_port())
    layout = StackLayout(root=tmp_path / "stack", ports=ports)
    yield layout
    down(layout, report=lambda _: None)


def test_up_starts_every_component_once_and_down_stops_them(layout: StackLayout) -> None:
    lines: list[str] = []
    up(layout, _minimal_config(layout.ports), report=lines.append)
    assert [line.split(":")[0] for line in lines] == ["pushgateway", "alertmanager", "prometheus"]
    pids = {c.name: find_running(layout.state_dir, c.name) for c in layout.components()}
    assert all(p is not None for p in pids.values())

    again: list[str] = []
    up(layout, _minimal_config(layout.ports), report=again.append)
    assert all("already up" in line for line in again), again

    state = status(layout)
    assert [ok for _, ok in state.components] == [True, True, True]

    assert down(layout, report=lambda _: None) == 3
    for daemon in pids.values():
        assert daemon is not None
        assert not psutil.pid_exists(daemon.pid) or psutil.Process(daemon.pid).status() == (
            psutil.STATUS_ZOMBIE
        )
    assert [ok for _, ok in status(layout).components] == [None, None, None]


def test_a_taken_port_is_named_and_nothing_is_left_running(layout: StackLayout) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", layout.ports.prometheus))
        blocker.listen()
        with pytest.raises(StackError, match=f"port {layout.ports.prometheus}"):
            up(layout, _minimal_config(layout.ports), report=lambda _: None)
    assert all(find_running(layout.state_dir, c.name) is None for c in layout.components())


def test_a_stale_pid_file_is_not_taken_for_a_running_daemon(layout: StackLayout) -> None:
    layout.state_dir.mkdir(parents=True)
    (layout.state_dir / "prometheus.pid").write_text('{"pid": 1, "started": 0.0}')
    assert find_running(layout.state_dir, "prometheus") is None
    assert not (layout.state_dir / "prometheus.pid").exists()
