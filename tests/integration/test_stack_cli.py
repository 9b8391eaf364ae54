"""`loadwatch stack up|down|status` as a user runs it: real daemons on free loopback ports in
a temporary folder, the configuration generated from the SLA, the receiver's token file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from collector.exit_codes import ExitCode
from runtime.ports import free_port
from tests.conftest import require_tool
from tests.integration.loadtest_helpers import loadwatch
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _stack(
    action: str, root: Path, ports: dict[str, int], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    flags = [f"--{name}-port={port}" for name, port in ports.items()]
    return loadwatch("stack", action, "--dir", str(root), *flags, env=env, timeout_s=90)


@pytest.fixture
def ports(tmp_path: Path):  # type: ignore[no-untyped-def]
    for tool in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway"):
        require_tool(tool)
    chosen = {
        "prometheus": free_port(),
        "alertmanager": free_port(),
        "pushgateway": free_port(),
        "receiver": free_port(),
    }
    yield chosen
    _stack("down", tmp_path / "stack", chosen)


def test_up_status_down_with_the_generated_configuration(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    root = tmp_path / "stack"
    first = _stack("up", root, ports)
    assert first.returncode == ExitCode.OK, first.stdout + first.stderr
    assert f"prometheus: up at http://127.0.0.1:{ports['prometheus']}" in first.stdout

    token = root / "receiver.token"
    assert token.stat().st_mode & 0o777 == 0o600
    assert len(token.read_text().strip()) >= 32
    prometheus_yml = yaml.safe_load((root / "config" / "prometheus.yml").read_text())
    assert prometheus_yml["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        f"127.0.0.1:{ports['alertmanager']}"
    ]
    alertmanager_yml = yaml.safe_load((root / "config" / "alertmanager.yml").read_text())
    hook = alertmanager_yml["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == f"http://127.0.0.1:{ports['receiver']}/alerts"
    rules = httpx.get(f"http://127.0.0.1:{ports['prometheus']}/api/v1/rules", timeout=5).json()
    assert len(rules["data"]["groups"]) > 1

    again = _stack("up", root, ports)
    assert again.returncode == ExitCode.OK
    assert again.stdout.count("already up") == 3, again.stdout

    statuses = []

    def targets_listed() -> bool:  # Prometheus lists them after its first discovery sync
        statuses.append(_stack("status", root, ports))
        return "scrape targets:" in statuses[-1].stdout

    wait_until(targets_listed, 30, what="the scrape targets listed", poll_s=0.5)
    status = statuses[-1]
    assert status.returncode == ExitCode.OK, status.stdout
    assert status.stdout.count("healthy") == 3
    assert "scrape targets:" in status.stdout
    assert f"127.0.0.1:{ports['pushgateway']}/metrics" in status.stdout
    assert "firing alerts:" in status.stdout

    down = _stack("down", root, ports)
    assert down.returncode == ExitCode.OK
    assert down.stdout.count("stopped") == 3
    after = _stack("status", root, ports)
    assert after.returncode == ExitCode.UNREACHABLE
    assert after.stdout.count("not running") == 3


def test_a_missing_binary_is_one_line_naming_the_package(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    result = _stack("up", tmp_path / "stack", {"prometheus": free_port()}, env=env)
    assert result.returncode == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "apt-get install prometheus-alertmanager" in lines[0]
    assert "apt-get install prometheus)" in lines[0]
    assert not (tmp_path / "stack" / "run").exists()
