"""`loadwatch schedule` as a process: a bad file exits 2 naming it, SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.loadtest_helpers import loadwatch

pytestmark = pytest.mark.integration

CONFIG = """
jobs:
  - name: yearly
    cron: "0 0 1 1 *"
    loadtest: course --host http://127.0.0.1:8101 --rate 10 --duration 5s
"""


def test_sigterm_stops_the_scheduler_cleanly_with_exit_0(tmp_path: Path) -> None:
    config = tmp_path / "schedule.yaml"
    config.write_text(CONFIG)
    process = subprocess.Popen(
        [sys.executable, "-m", "loadwatch", "schedule", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first == "loadwatch schedule: 1 jobs: yearly (0 0 1 1 *)\n"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30 * TIMEOUT_UNIT_S)
        assert process.returncode == 0, err
        assert out == "loadwatch schedule: stopped\n"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_bad_schedule_file_exits_2_naming_file_field_and_value(tmp_path: Path) -> None:
    config = tmp_path / "schedule.yaml"
    config.write_text(CONFIG.replace("0 0 1 1 *", "0 0 32 1 *"))
    done = loadwatch("schedule", "--config", str(config), timeout_s=60)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"loadwatch schedule: {config}: jobs[0].cron: expected a cron expression"
    )
    assert "got '0 0 32 1 *'" in done.stderr
