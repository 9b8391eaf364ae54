"""A run's result gauges reach a real Pushgateway (Debian's prometheus-pushgateway)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import conventions as names
from loadtests.regression import Regression, RegressionReport
from runs.export import JOB, PushError, push_result
from runtime.ports import free_port, listening
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.integration.loadtest_helpers import EXAMPLE_LOCUSTFILE, loadwatch, summary_of
from tests.run_results import STARTED_S, make_result
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A Pushgateway on a free port, stopped after the test. Debian's build persists to
    /var/lib/prometheus by default: this one keeps its state in `tmp_path`."""
    binary = require_tool("prometheus-pushgateway")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={tmp_path / 'pushgateway.data'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:

        def started() -> bool:
            assert process.poll() is None, f"pushgateway exited with {process.returncode}"
            return listening(port)

        wait_until(started, 10, what="pushgateway listening", poll_s=0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10 * TIMEOUT_UNIT_S)


def samples(url: str) -> dict[str, float]:
    """The loadwatch_loadtest_* samples the Pushgateway exposes, keyed by name{labels}."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = {}
    for line in text.splitlines():
        match = re.match(r"^(loadwatch_loadtest_\w+)(\{[^}]*\})? (\S+)$", line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            labels.pop(names.LABEL_INSTANCE, None)
            assert labels.pop(names.LABEL_JOB) == JOB
            assert labels.pop(names.LABEL_SCENARIO) == "browse"
            assert labels.pop(names.LABEL_TARGET) == "http://127.0.0.1:8101"
            key = match.group(1) + "".join(f"{{{k}={v}}}" for k, v in sorted(labels.items()))
            found[key] = float(match.group(3))
    return found


def test_a_passing_run_pushes_every_gauge_with_scenario_and_target(pushgateway: str) -> None:
    result = make_result(latency_s=0.05, requests=1_000, duration_s=10.0, users=20)
    report = RegressionReport(Regression.OK, 3, ())
    push_result(pushgateway, result, report, interval_s=1800.0)
    got = samples(pushgateway)
    finished = STARTED_S + 10.0
    assert got[names.LOADTEST_PASSED] == 1.0
    assert got[names.LOADTEST_LAST_SUCCESS] == finished
    assert got[names.LOADTEST_FINISHED] == finished
    assert got[names.LOADTEST_DURATION] == 10.0
    assert got[names.LOADTEST_INTERVAL] == 1800.0
    assert got[names.LOADTEST_REQUESTS_PER_SECOND] == pytest.approx(100.0)
    assert got[names.LOADTEST_USERS] == 20.0
    assert got[names.LOADTEST_ERROR_RATIO] == 0.0
    assert got[names.LOADTEST_REGRESSED] == 0.0
    assert got[f"{names.LOADTEST_LATENCY}{{quantile=0.5}}"] == pytest.approx(0.05, rel=0.01)
    assert got[f"{names.LOADTEST_LATENCY}{{quantile=0.99}}"] == pytest.approx(0.1, rel=0.01)
    assert got[f"{names.LOADTEST_THRESHOLD_OK}{{threshold=latency p95 < 200ms}}"] == 1.0
    assert got[f"{names.LOADTEST_THRESHOLD_OK}{{threshold=error rate < 1%}}"] == 1.0


def test_a_failing_run_keeps_the_last_success_time_of_the_passing_one(pushgateway: str) -> None:
    push_result(pushgateway, make_result())
    failed = make_result(failures=100, started_at_s=STARTED_S + 3600)
    push_result(pushgateway, failed)
    got = samples(pushgateway)
    assert got[names.LOADTEST_PASSED] == 0.0
    assert got[names.LOADTEST_ERROR_RATIO] == pytest.approx(0.1)
    assert got[names.LOADTEST_LAST_SUCCESS] == STARTED_S + 10.0
    assert got[names.LOADTEST_FINISHED] == STARTED_S + 3610.0, "every run moves the finish time"
    assert names.LOADTEST_INTERVAL not in got, "no schedule, no interval"
    assert got[f"{names.LOADTEST_THRESHOLD_OK}{{threshold=error rate < 1%}}"] == 0.0
    assert got[names.LOADTEST_REGRESSED] == 0.0, "not compared: not regressed"


def test_a_run_without_a_baseline_clears_an_earlier_regression(pushgateway: str) -> None:
    push_result(pushgateway, make_result(), RegressionReport(Regression.REGRESSED, 5, ()))
    assert samples(pushgateway)[names.LOADTEST_REGRESSED] == 1.0
    later = make_result(started_at_s=STARTED_S + 3600)
    push_result(pushgateway, later, RegressionReport(Regression.NO_BASELINE, 0, ()))
    assert samples(pushgateway)[names.LOADTEST_REGRESSED] == 0.0, "a stale 1 keeps firing"


def test_an_unreachable_pushgateway_is_a_push_error_naming_the_flag() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PushError, match=f"--pushgateway: cannot push to {url}"):
        push_result(url, make_result())


LENIENT_SLA = "version: 1\nobjectives:\n  error_rate: 50%\n"
"""Judges only the error rate, loosely: the run passes however loaded the machine is."""


def test_loadwatch_loadtest_records_then_pushes_a_real_run(
    hello_url: str, pushgateway: str, tmp_path: Path
) -> None:
    """`loadwatch loadtest --record --pushgateway` end to end: Locust against the example
    service, the run in a SQLite history, its gauges in the Pushgateway."""
    host = hello_url
    history = f"sqlite+aiosqlite:///{tmp_path / 'history.sqlite3'}"
    (tmp_path / "sla.yaml").write_text(LENIENT_SLA)
    done = loadwatch(
        *("loadtest", str(EXAMPLE_LOCUSTFILE)),
        *("--host", host, "--users", "4", "--spawn-rate", "4", "--duration", "3s"),
        *("--json", str(tmp_path / "run.json")),
        *("--record", "--history-url", history, "--label", "ci=yes"),
        *("--pushgateway", pushgateway, "--schedule-interval", "30m"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error rate < 50%" in done.stdout
    assert f"wrote {tmp_path / 'run.json'}" in done.stdout
    assert f"recorded run 1 in {history}" in done.stdout
    assert "regression: no baseline yet (0 earlier passing runs" in done.stdout
    assert f"pushed the result to {pushgateway}" in done.stdout

    listed = loadwatch("history", "--history-url", history, "--json", timeout_s=60)
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["labels"] == {"ci": "yes"}
    assert run["summary"] == summary_of(tmp_path / "run.json")

    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    passed = re.search(rf"^{names.LOADTEST_PASSED}\{{([^}}]*)\}} (\S+)$", text, re.MULTILINE)
    assert passed is not None and float(passed.group(2)) == 1.0
    assert f'{names.LABEL_TARGET}="{host}"' in passed.group(1)
    assert f'{names.LABEL_SCENARIO}="{run["scenario"]}"' in passed.group(1)
    interval = re.search(rf"^{names.LOADTEST_INTERVAL}\{{[^}}]*\}} (\S+)$", text, re.MULTILINE)
    assert interval is not None and float(interval.group(1)) == 1800.0
