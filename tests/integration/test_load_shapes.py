"""Load shapes end to end: `--stages` in the closed and the open model, and a locustfile's own
LoadTestShape, locally and with workers, against the example service (examples/hello_service.py)
in a child process on a free port. Assertions are on counts and order, never on timings."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration import loadtest_helpers
from tests.integration.loadtest_helpers import EXAMPLE_LOCUSTFILE, summary_of

pytestmark = pytest.mark.integration

ONE_REQUEST = """
from locust import FastHttpUser, constant, task

class Reader(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/hello")
"""

OWN_SHAPE = """
from locust import HttpUser, LoadTestShape, constant, task

class Reader(HttpUser):
    wait_time = constant(0.1)

    @task
    def hello(self):
        self.client.get("/hello")

class TwoSteps(LoadTestShape):
    def tick(self):
        run_s = self.get_run_time()
        if run_s < 3:
            return (2, 10)
        if run_s < 6:
            return (6, 10)
        return None
"""


def loadtest(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """A run that completed (passed or failed) and the JSON summary it wrote."""
    report = tmp / "run.json"
    result = loadtest_helpers.loadtest(tmp, *args, "--json", str(report))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result, summary_of(report)


@pytest.mark.parametrize("workers", [0, 1])
def test_closed_model_stages_ramp_hold_and_step_down_the_users(
    hello_url: str, tmp_path: Path, workers: int
) -> None:
    page = tmp_path / "run.html"
    result, summary = loadtest(
        tmp_path,
        str(EXAMPLE_LOCUSTFILE),
        "--host",
        hello_url,
        "--stages",
        "2s:6,2s:6,0s:2,2s:2",
        "--window",
        "2s",
        "--html",
        str(page),
        "--workers",
        str(workers),
    )
    windows = summary["windows"][:3]
    assert [w["target"] for w in windows] == [3.0, 6.0, 2.0]  # ramp 0 -> 6, hold 6, step to 2
    assert windows[1]["users"] == 6 and summary["users"] == 6
    assert windows[1]["requests"] > windows[2]["requests"] > 0
    assert 6.0 <= summary["duration_s"] < 8.0, "a staged run lasts its stages"
    assert "stages 2s:6,2s:6,0s:2,2s:2 (users), 6 s" in result.stdout
    assert summary["stages"] == "2s:6,2s:6,0s:2,2s:2"
    assert re.search(r"users target \d+ / achieved \d+", result.stdout), result.stdout
    users_chart = page.read_text().split('aria-label="Users"', 1)[1].split("</svg>", 1)[0]
    assert 'class="target"' in users_chart


@pytest.mark.parametrize("workers", [0, 2])
def test_open_model_stages_start_requests_at_the_shapes_rate(
    hello_url: str, tmp_path: Path, workers: int
) -> None:
    """0 -> 60 req/s over 2 s, 60 req/s for 4 s, down to 0 over 2 s: 60 + 240 + 60 = 360
    requests (a one-request task and no on_start, so each start is one request)."""
    locustfile = tmp_path / "one_request.py"
    locustfile.write_text(ONE_REQUEST)
    result, summary = loadtest(
        tmp_path,
        str(locustfile),
        "--host",
        hello_url,
        "--stages",
        "2s:60,4s:60,2s:0",
        "--model",
        "open",
        "--window",
        "2s",
        "--workers",
        str(workers),
    )
    ramp, hold, hold_again, down = summary["windows"][:4]
    assert [w["target"] for w in (ramp, hold, hold_again, down)] == [30.0, 60.0, 60.0, 30.0]
    assert min(hold["requests"], hold_again["requests"]) > max(ramp["requests"], down["requests"])
    assert summary["missed_starts"] == 0 and summary["target_rate"] == 60.0
    at_the_end = max(1, workers)  # each process's last start is due at the run's very end
    assert 0.8 * 360 <= summary["requests"] <= 360 + at_the_end, "the area under the shape"
    assert re.search(r"req/s target [\d.]+ / achieved [\d.]+", result.stdout), result.stdout


@pytest.mark.parametrize("workers", [0, 1])
def test_a_locustfiles_own_load_shape_sets_the_users_and_ends_the_run(
    hello_url: str, tmp_path: Path, workers: int
) -> None:
    locustfile = tmp_path / "shaped.py"
    locustfile.write_text(OWN_SHAPE)
    args = [str(locustfile), "--host", hello_url, "--window", "3s", "--workers", str(workers)]
    result, summary = loadtest(tmp_path, *args)
    first, second = summary["windows"][:2]
    assert (first["target"], second["target"]) == (2.0, 6.0)
    assert second["users"] == 6 and first["users"] <= 2
    assert second["requests"] > first["requests"] > 0
    assert summary["duration_s"] < 15.0, "the shape's tick() returning None ends the run"
    assert "load shape: the locustfile's TwoSteps sets the users" in result.stdout


def test_a_locustfiles_own_load_shape_cannot_be_combined_with_stages_or_rate(
    hello_url: str, tmp_path: Path
) -> None:
    locustfile = tmp_path / "shaped.py"
    locustfile.write_text(OWN_SHAPE)
    for flags, words in (
        (["--stages", "2s:3"], "--stages cannot be combined with it"),
        (["--rate", "5"], "it cannot run with --rate"),
    ):
        result = loadtest_helpers.loadtest(
            tmp_path, str(locustfile), "--host", hello_url, *flags, timeout_s=60
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert "its LoadTestShape TwoSteps sets the users" in result.stderr, result.stderr
        assert words in result.stderr
