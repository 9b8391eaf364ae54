"""`loadwatch capacity` as a user runs it: real Locust probes against the example service.

A smoke test of the wiring (flags -> probes -> answer -> JSON), bounded to two short
probes; the strategy's accuracy is proven in tests/unit/test_capacity_search.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.loadtest_helpers import EXAMPLE_LOCUSTFILE, loadwatch, summary_of

pytestmark = pytest.mark.integration


def test_two_bounded_probes_answer_and_write_the_json(hello_url: str, tmp_path: Path) -> None:
    (tmp_path / "sla.yaml").write_text("version: 1\nobjectives:\n  error_rate: 50%\n")
    done = loadwatch(
        *("capacity", str(EXAMPLE_LOCUSTFILE)),
        *("--host", hello_url, "--start-rate", "5", "--max-rate", "10"),
        *("--probe", "2s", "--cooldown", "1s", "--max-probes", "2"),
        *("--json", str(tmp_path / "capacity.json")),
        *("--html", str(tmp_path / "capacity.html")),
        cwd=tmp_path,
        timeout_s=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = summary_of(tmp_path / "capacity.json")
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
    done = loadwatch("capacity", "course", "--host", "http://h:1", "--probe", "soon", timeout_s=60)
    assert done.returncode == 2
    assert done.stderr.startswith("loadwatch capacity: --probe: expected a duration like")


@pytest.mark.parametrize(
    ("ramp", "expected"),
    [("30s", "--ramp: expected less than --probe (30 s), got '30s'"), ("soon", "--ramp: ")],
)
def test_a_ramp_that_leaves_no_hold_exits_2_naming_the_flag(ramp: str, expected: str) -> None:
    done = loadwatch(
        *("capacity", "course", "--host", "http://h:1", "--probe", "30s", "--ramp", ramp),
        timeout_s=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"loadwatch capacity: {expected}")
