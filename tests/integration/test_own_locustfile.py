"""Your own locustfile, failures by reason, and verdicts that cannot pass or fail by
construction: `python -m loadtests.runner` (= `loadwatch loadtest`) against the example
service (examples/hello_service.py) in a child process on a free port."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.ports import free_port
from tests.integration.loadtest_helpers import EXAMPLE_LOCUSTFILE, loadtest, summary_of

pytestmark = pytest.mark.integration

FAILING = """
from locust import FastHttpUser, HttpUser, constant, task

class Failing(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def hello(self):
        self.client.get("/hello")

    @task(2)
    def boom(self):
        self.client.get("/boom")

    @task(2)
    def missing(self):
        self.client.get("/missing/1", name="/missing/{n}")

class Unreachable(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def closed_port(self):
        self.client.get("http://127.0.0.1:{closed}/x", name="closed port")
"""

SLOW = """
from locust import FastHttpUser, constant, task

class Slow(FastHttpUser):
    wait_time = constant(0)

    @task
    def slow(self):
        self.client.get("/slow?delay_s=0.2", name="/slow")
"""


def test_the_example_locustfile_runs_end_to_end_grouped_by_locust_names(
    hello_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "run.json"
    result = loadtest(
        tmp_path,
        str(EXAMPLE_LOCUSTFILE),
        "--host",
        hello_url,
        "--users",
        "6",
        "--spawn-rate",
        "6",
        "--duration",
        "4s",
        "--json",
        str(report),
        "--html",
        str(tmp_path / "run.html"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = summary_of(report)
    assert summary["scenario"] == str(EXAMPLE_LOCUSTFILE)
    assert set(summary["endpoints"]) == {"GET /hello", "GET /items/{item_id}", "GET /slow"}
    assert summary["failures"] == summary["scenario_failures"] == 0
    accepted = summary["accepted_by_reason"]
    assert [(a["route"], a["reason"]) for a in accepted] == [
        ("GET /items/{item_id}", "HTTP 400 Bad Request")
    ]
    assert summary["passed"] and "users / mean think time offer at most" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "no such file"),
        ("import does_not_exist_anywhere\n", "does not import: ModuleNotFoundError"),
        ("X = 1\n", "defines no User class"),
    ],
)
def test_a_bad_locustfile_exits_2_with_one_line(
    hello_url: str, tmp_path: Path, text: str | None, expected: str
) -> None:
    path = tmp_path / "mine.py"
    if text is not None:
        path.write_text(text)
    result = loadtest(tmp_path, str(path), "--host", hello_url, "--duration", "2s")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "mine.py" in lines[0], result.stderr


def test_failures_by_reason_add_up_across_two_workers_everywhere(
    hello_url: str, tmp_path: Path
) -> None:
    locustfile = tmp_path / "failing.py"
    locustfile.write_text(FAILING.replace("{closed}", str(free_port())))
    report, page = tmp_path / "run.json", tmp_path / "run.html"
    result = loadtest(
        tmp_path,
        str(locustfile),
        "--host",
        hello_url,
        "--users",
        "6",
        "--spawn-rate",
        "6",
        "--duration",
        "4s",
        "--workers",
        "2",
        "--json",
        str(report),
        "--html",
        str(page),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    summary = summary_of(report)
    reasons = {(r["route"], r["reason"]): r for r in summary["failures_by_reason"]}
    assert reasons[("GET /boom", "HTTP 500 Internal Server Error")]["outcome"] == "error"
    assert reasons[("GET /missing/{n}", "HTTP 404 Not Found")]["outcome"] == "unexpected"
    refused = [r for (route, _), r in reasons.items() if route == "GET closed port"]
    assert refused and all(r["outcome"] == "error" for r in refused)
    assert any("ConnectionRefusedError" in r["reason"] for r in refused), refused
    total = sum(r["count"] for r in summary["failures_by_reason"])
    assert total == summary["failures"] + summary["scenario_failures"] > 0
    assert (
        summary["failures"] == sum(e["failures"] for e in summary["endpoints"].values())
        and summary["scenario_failures"] == summary["endpoints"]["GET /missing/{n}"]["requests"]
    )
    out = result.stdout
    assert out.index("FAILED:") < out.index("failures by reason:")
    assert f"failures by reason: {total:,} ({summary['failures']:,} SLA errors" in out
    assert "HTTP 404 Not Found" in out.split("failures by reason:")[1]
    table = page.read_text().split("<h2>Failures by reason</h2>", 1)[1].split("<h2>", 1)[0]
    assert table.count("<tr class=") == len(summary["failures_by_reason"])


def test_a_generator_that_misses_starts_cannot_pass(hello_url: str, tmp_path: Path) -> None:
    """One connection serving 0.2 s requests offers at most 5 req/s; 40 req/s are asked."""
    locustfile = tmp_path / "slow.py"
    locustfile.write_text(SLOW)
    report = tmp_path / "run.json"
    result = loadtest(
        tmp_path,
        str(locustfile),
        "--host",
        hello_url,
        "--rate",
        "40",
        "--connections",
        "1",
        "--duration",
        "3s",
        "--json",
        str(report),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    summary = summary_of(report)
    assert summary["missed_starts"] > 0 and not summary["passed"]
    generator = [t for t in summary["thresholds"] if t["metric"] == "generator"]
    assert generator[0]["ok"] is False
    assert f"{summary['missed_starts']:,} starts missed" in summary["invalid"]
    assert result.stdout.splitlines()[-1] == (
        f"INVALID: {summary['judged']['reason']}"
        if summary["judged"]["reason"]
        else f"INVALID: {summary['invalid']}"
    )


def test_a_worker_machine_with_a_bad_locustfile_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text("X = 1\n")
    result = loadtest(tmp_path, str(path), "--role", "worker", "--workers", "2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"loadwatch loadtest: {path}: defines no User class"
        " (expected a subclass of HttpUser or FastHttpUser)"
    ]
