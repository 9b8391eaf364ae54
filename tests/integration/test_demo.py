"""`loadwatch demo` end to end, as a user runs it (shortened): seed, services, the stack and
the receiver when the binaries are installed, load test; nothing left running after."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import TIMEOUT_UNIT_S

_STACK_BINARIES = ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway")


def test_the_demo_runs_the_whole_loop_and_leaves_nothing_running(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadwatch", "demo", "--duration", "6", "--rate", "40"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180 * TIMEOUT_UNIT_S,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "PASS    latency p95 < 200ms" in out
    assert "PASSED:" in out
    reports = sorted((tmp_path / "reports").glob("demo-*.json"))
    assert len(reports) == 1
    summary = json.loads(reports[0].read_text())
    assert summary["scenario"] == "mixed" and summary["passed"] is True
    assert summary["requests"] > 100
    assert any(name.startswith("POST /campaigns") for name in summary["endpoints"])
    assert any(name.startswith("GET /courses") for name in summary["endpoints"])
    assert (tmp_path / "reports" / reports[0].name.replace(".json", ".html")).is_file()
    urls = re.findall(r"^  \w+\s+(http://127\.0\.0\.1:\d+)", out, flags=re.MULTILINE)
    with_stack = all(shutil.which(binary) for binary in _STACK_BINARIES)
    assert len(urls) == (4 if with_stack else 3), out
    if with_stack:
        stack = re.search(r"Prometheus (http://\S+), Alertmanager (http://\S+) ", out)
        assert stack is not None, out
        urls.extend(stack.groups())
        assert "server side (Prometheus): p95" in out
        assert summary["server"]["p95_ms"] is not None
        assert not list((tmp_path / "var" / "demo" / "stack" / "run").glob("*.pid"))
    else:
        assert "no Prometheus stack in this demo: apt-get install" in out
    for url in urls:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"{url} still answers after the demo ended")


def test_the_demo_rejects_bad_flags_with_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadwatch", "demo", "--rate", "-5"],
        capture_output=True,
        text=True,
        timeout=30 * TIMEOUT_UNIT_S,
    )
    assert result.returncode == 2
    assert "--rate: expected a number > 0" in result.stderr
