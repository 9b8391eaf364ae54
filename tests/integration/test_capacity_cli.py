"""`loadwatch capacity` as a user runs it: real Locust probes against the example service.

A smoke test of the wiring (flags -> probes -> answer -> JSON), bounded to two short
probes; the strategy's accuracy is proven in tests/unit/test_capacity_search.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.test_own_locustfile import stop, wait_until_answering

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_two_bounded_probes_answer_and_write_the_json(tmp_path: Path) -> None:
    port = free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "examples.hello_service", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (tmp_path / "sla.yaml").write_text("version: 1\nobjectives:\n  error_rate: 50%\n")
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/hello", service, timeout_s=30)
        done = subprocess.run(
            [
                *(sys.executable, "-m", "loadwatch", "capacity"),
                str(ROOT / "examples" / "hello_locustfile.py"),
                *("--host", f"http://127.0.0.1:{port}", "--start-rate", "5", "--max-rate", "10"),
                *("--probe", "2s", "--cooldown", "1s", "--max-probes", "2"),
                *("--json", str(tmp_path / "capacity.json")),
                *("--html", str(tmp_path / "capacity.html")),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=180 * TIMEOUT_UNIT_S,
            check=False,
        )
    finally:
        stop(service)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((tmp_path / "capacity.json").read_text())
    assert [(p["rate"], p["passed"]) for p in document["probes"]] == [(5.0, True), (10.0, True)]
    assert all(p["achieved_rps"] > 0 and p["mean_ms"] > 0 for p in document["probes"])
    assert document["recommendation"] == {"rate": 8.0, "headroom": 0.8}
    assert document["instances"]["for_users"] is None, "a locustfile's think time is unknown"
    assert (tmp_path / "capacity.html").read_text().count("<svg") == 3
    assert document["max_rate"] == 10.0 and document["bounded"] is False
    # The default ramp is a fifth of the 2 s probe; the second ramps from the first's 5 req/s.
    assert (document["ramp_s"], document["hold_s"]) == (0.4, 1.6)
    assert [p["ramp_from_rps"] for p in document["probes"]] == [0.0, 5.0]
    assert "capacity: 10.0 req/s keeps the SLA (no probe failed" in done.stdout


def test_a_bad_duration_exits_2_naming_the_flag() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadwatch",
            "capacity",
            "course",
            "--host",
            "http://h:1",
            "--probe",
            "soon",
        ],
        capture_output=True,
        text=True,
        timeout=60 * TIMEOUT_UNIT_S,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("loadwatch capacity: --probe: expected a duration like")


@pytest.mark.parametrize(
    ("ramp", "expected"),
    [("30s", "--ramp: expected less than --probe (30 s), got '30s'"), ("soon", "--ramp: ")],
)
def test_a_ramp_that_leaves_no_hold_exits_2_naming_the_flag(ramp: str, expected: str) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "loadwatch", "capacity", "course"),
            *("--host", "http://h:1", "--probe", "30s", "--ramp", ramp),
        ],
        capture_output=True,
        text=True,
        timeout=60 * TIMEOUT_UNIT_S,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"loadwatch capacity: {expected}")
