"""After `loadwatch seed --users 300 --courses 5 --campaigns 50`, every built-in scenario
draws its ids from what the services publish at GET /dataset: no request gets a 404."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.ports import free_port
from tests.integration.loadtest_helpers import (
    loadtest,
    seed_sqlite,
    stop,
    summary_of,
    wait_until_answering,
)

pytestmark = pytest.mark.integration

SMALL = {"users": 300, "courses": 5, "campaigns": 50}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Course, campaign and the fake social platforms, seeded small, on free ports."""
    database = seed_sqlite(tmp_path_factory.mktemp("small"), SMALL)
    ports = {name: free_port() for name in ("course", "campaign", "social")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    extra = {
        "course": ["--database-url", database],
        "campaign": ["--database-url", database, "--social-url", urls["social"]],
        "social": [],
    }
    processes = []
    try:
        for name in ("social", "course", "campaign"):
            command = [sys.executable, "-m", "loadwatch", "serve", name, "--port"]
            process = subprocess.Popen(
                [*command, str(ports[name]), *extra[name]],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(process)
            wait_until_answering(f"{urls[name]}/healthz", process, timeout_s=30)
        yield urls
    finally:
        for process in processes:
            stop(process)


def test_the_services_publish_what_they_were_seeded_with(services: dict[str, str]) -> None:
    course = httpx.get(f"{services['course']}/dataset", timeout=5).json()
    enrollments = course.pop("enrollments")
    assert course == {"users": 300, "courses": 5, "videos": 10}
    assert enrollments >= 900  # the course scenario enrolls as it runs (tests run in any order)
    campaigns = httpx.get(f"{services['campaign']}/dataset", timeout=5).json()["campaigns"]
    assert campaigns >= 50  # the campaign scenario creates campaigns as it runs


@pytest.mark.parametrize("scenario", ["course", "campaign", "mixed"])
def test_a_small_seed_gives_no_404_in_any_scenario(
    services: dict[str, str], tmp_path: Path, scenario: str
) -> None:
    host = services["campaign"] if scenario == "campaign" else services["course"]
    env = {**os.environ, "LOADWATCH_CAMPAIGN_HOST": services["campaign"]}
    env = {k: v for k, v in env.items() if not k.startswith("LOADWATCH_SEED_")}
    report = tmp_path / "run.json"
    args = [scenario, "--host", host, "--users", "20", "--spawn-rate", "20"]
    result = loadtest(tmp_path, *args, "--duration", "5s", "--json", str(report), env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    data = next(line for line in result.stdout.splitlines() if line.startswith("data"))
    if scenario != "campaign":
        assert data.startswith("data (GET /dataset): 300 users, 5 courses, 10 videos"), data
    if scenario != "course":
        assert data.endswith(" campaigns") and "campaigns" not in data.split(": ", 1)[0], data
    summary = summary_of(report)
    assert summary["requests"] > 0
    not_found = [r for r in summary["failures_by_reason"] if "404" in r["reason"]]
    assert not_found == [], not_found
    assert summary["scenario_failures"] == 0, summary["failures_by_reason"]
