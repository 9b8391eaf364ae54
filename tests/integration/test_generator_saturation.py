"""A load generator starved on purpose (a task that busy-loops, blocking gevent's loop) is
reported as saturated, never as a slow service; a calm one is not. Real Locust processes
against the example service; the assertions are on the verdict's reasons, not on timings."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from loadtests.worker_count import choose_workers, usable_cores
from tests.integration.loadtest_helpers import loadtest, summary_of

pytestmark = pytest.mark.integration

BURNER = """
import time
from locust import HttpUser, constant, task

class Burner(HttpUser):
    wait_time = constant(0)

    @task
    def burn(self):
        self.client.get("/hello")
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:  # blocks the event loop: every timer fires late
            pass
"""

CALM = """
from locust import HttpUser, constant, task

class Calm(HttpUser):
    wait_time = constant(0.1)

    @task
    def hello(self):
        self.client.get("/hello")
"""


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_starved_generator_makes_the_run_invalid_and_never_fails_the_latency(
    hello_url: str, tmp_path: Path, workers: str
) -> None:
    locustfile = tmp_path / "burner.py"
    locustfile.write_text(BURNER)
    report, page = tmp_path / "run.json", tmp_path / "run.html"
    result = loadtest(
        tmp_path,
        str(locustfile),
        "--host",
        hello_url,
        "--users",
        "3",
        "--spawn-rate",
        "3",
        "--duration",
        "4s",
        "--workers",
        workers,
        "--json",
        str(report),
        "--html",
        str(page),
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    summary = summary_of(report)
    assert summary["invalid"].startswith("the load generator was saturated: CPU"), summary
    assert summary["invalid"].endswith("its latency figures measure itself")
    failed = [t for t in summary["thresholds"] if t["ok"] is False]
    assert [t["metric"] for t in failed] == ["generator"], failed
    latency = [t for t in summary["thresholds"] if t["metric"] == "latency"]
    assert latency and all(t["ok"] is None for t in latency)
    assert all(
        t["detail"] == "not judged: the load generator was saturated in window 1 of 1"
        for t in latency
    ), latency
    generator = summary["generator"]
    assert generator["saturated"] and generator["saturated_windows"] == [0]
    (process,) = generator["processes"]
    assert process.startswith("worker " if workers == "1" else "local ")
    assert any(w["generator"] and not w["generator"]["service_judged"] for w in summary["windows"])
    verdict_lines = result.stdout.split("RESULT", 1)[1].splitlines()
    assert any(
        line.startswith("INVALID: the load generator was saturated") for line in verdict_lines
    )
    assert "generator cpu" in result.stdout
    assert "The service was not judged in windows 1." in page.read_text()
    assert result.stdout.splitlines()[-1] == (
        "INVALID: the load generator was saturated (1 of 1 windows); use --workers or more machines"
    )


def _calm_run(
    tmp_path: Path, hello_url: str, users: int, duration: str, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """A run of the CALM locustfile (`users`, all started at once): the process, the summary."""
    locustfile = tmp_path / "calm.py"
    locustfile.write_text(CALM)
    report = tmp_path / "run.json"
    flags = ["--host", hello_url, "--users", str(users), "--spawn-rate", str(users)]
    flags += ["--duration", duration, *extra, "--json", str(report)]
    result = loadtest(tmp_path, str(locustfile), *flags)
    return result, summary_of(report)


def test_workers_auto_chooses_a_count_says_why_and_records_it(
    hello_url: str, tmp_path: Path
) -> None:
    result, summary = _calm_run(tmp_path, hello_url, 2, "3s", "--workers", "auto")
    out = result.stdout + result.stderr
    chosen = choose_workers(usable_cores(), service="127.0.0.1")
    assert f"loadwatch loadtest: {chosen.line}" in result.stdout.splitlines(), out
    assert summary["workers"] == chosen.workers and summary["workers_auto"] == chosen.to_dict()
    assert len(summary["generator"]["processes"]) == chosen.workers, out


def test_a_calm_generator_is_judged_and_reported_as_keeping_up(
    hello_url: str, tmp_path: Path
) -> None:
    result, summary = _calm_run(tmp_path, hello_url, 3, "4s")
    generator = [t for t in summary["thresholds"] if t["metric"] == "generator"]
    assert [t["ok"] for t in generator] == [True], result.stdout + result.stderr
    assert summary["invalid"] == "" and not summary["generator"]["saturated"]
    assert all(t["ok"] is not None for t in summary["thresholds"] if t["metric"] == "latency")
    assert "INVALID" not in result.stdout
