"""`loadwatch serve --sla FILE`: the service's histogram has buckets at that file's
thresholds (here p99 < 450 ms, a bound the default SLA does not put in the buckets)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from collector import conventions as names
from collector import promql
from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.loadtest_helpers import loadwatch, loadwatch_command, wait_until_serving

pytestmark = pytest.mark.integration

_SLA = """\
version: 1
objectives:
  latency: {percentile: p99, threshold: 450ms}
  error_rate: 0.5%
"""
_BUCKET = f'le="{promql.le_value(0.45)}"'


_TIMED_ROUTE = {"social": "/platforms/stats", "course": "/"}


def _buckets_of(service: str, tmp_path: Path, *flags: str) -> str:
    port = free_port()
    extra = ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"]
    args = loadwatch_command("serve", service, "--port", str(port), *flags)
    process = subprocess.Popen(
        args + (extra if service == "course" else []),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(port, process)
        # one request the SLA figures count (health checks are not timed)
        httpx.get(f"http://127.0.0.1:{port}{_TIMED_ROUTE[service]}", timeout=5)
        text = httpx.get(f"http://127.0.0.1:{port}{names.METRICS_PATH}", timeout=5).text
    finally:
        process.terminate()
        process.wait(timeout=30 * TIMEOUT_UNIT_S)
    return "\n".join(line for line in text.splitlines() if "_bucket{" in line)


@pytest.mark.parametrize("service", ["social", "course"])
def test_the_sla_file_sets_the_buckets(service: str, tmp_path: Path) -> None:
    sla = tmp_path / "other-sla.yaml"
    sla.write_text(_SLA)
    assert _BUCKET not in _buckets_of(service, tmp_path)
    assert _BUCKET in _buckets_of(service, tmp_path, "--sla", str(sla))


def test_a_bad_sla_file_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    result = loadwatch("serve", "social", "--sla", str(tmp_path / "absent.yaml"), timeout_s=60)
    assert result.returncode == 2
    assert "absent.yaml" in result.stderr and "no such file" in result.stderr
