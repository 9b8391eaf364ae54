"""`loadwatch demo` end to end, as a child process, shortened."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import TIMEOUT_UNIT_S


def test_the_demo_drives_traffic_and_prints_a_passing_verdict() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadwatch", "demo", "--duration", "3", "--rate", "100"],
        capture_output=True,
        text=True,
        timeout=60 * TIMEOUT_UNIT_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/metrics" in result.stdout
    assert "PASS  latency p95 < 200 ms" in result.stdout
    assert "PASS  error rate < 1%" in result.stdout
    kpi_lines = [line for line in result.stdout.splitlines() if " rps " in line]
    assert len(kpi_lines) >= 2
    assert "Traceback" not in result.stderr


def test_the_demo_rejects_bad_flags_with_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadwatch", "demo", "--rate", "-5"],
        capture_output=True,
        text=True,
        timeout=30 * TIMEOUT_UNIT_S,
    )
    assert result.returncode == 2
    assert "--rate: expected a number > 0" in result.stderr
