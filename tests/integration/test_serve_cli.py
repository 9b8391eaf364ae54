"""`loadwatch serve` and `loadwatch seed` as a user runs them: child processes on 127.0.0.1."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S, require_tool
from tests.integration.loadtest_helpers import loadwatch, loadwatch_command, wait_until_serving
from tests.waiting import wait_until


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def listen_backlog(port: int) -> int:
    """The accept queue length of the socket listening on `port` (ss's Send-Q column)."""
    ss = require_tool("ss")
    out = subprocess.run(
        [ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[2])


def test_seed_fills_sqlite_and_refuses_to_seed_twice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'both.sqlite3'}"
    args = ("seed", "--database-url", url, "--users", "300", "--courses", "10", "--campaigns", "50")
    first = loadwatch(*args)
    assert first.returncode == 0, first.stderr
    assert "inserting" in first.stdout and "300 users" in first.stdout
    again = loadwatch(*args)
    assert again.returncode == 2
    assert "already has 300 users; use --reset" in again.stderr
    reset = loadwatch(*args, "--reset")
    assert reset.returncode == 0, reset.stderr


def test_serve_rejects_a_bad_database_url_with_exit_2() -> None:
    result = loadwatch("serve", "course", "--database-url", "mysql://x", timeout_s=60)
    assert result.returncode == 2
    assert "database_url: expected a URL starting with sqlite+aiosqlite" in result.stderr


def test_the_course_service_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'course.sqlite3'}"
    process = subprocess.Popen(
        loadwatch_command("serve", "course", "--port", str(port), "--database-url", url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_serving(port, process)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'route="/healthz"' in metrics
        assert listen_backlog(port) == min(4096, somaxconn())
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30 * TIMEOUT_UNIT_S)
    assert process.returncode == 0, stderr.decode()


def test_sigterm_drains_a_request_in_flight() -> None:
    port = free_port()
    process = subprocess.Popen(
        loadwatch_command(
            "serve", "social", "--port", str(port), "--platform", "slowpoke:800ms:0%:900ms"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    outcome: dict[str, int] = {}
    try:
        wait_until_serving(port, process)

        def post() -> None:
            response = httpx.post(
                f"http://127.0.0.1:{port}/platforms/slowpoke/posts",
                json={"content": "hello", "campaign_id": 1},
                headers={"Idempotency-Key": "drain-1"},
                timeout=10,
            )
            outcome["status"] = response.status_code

        thread = threading.Thread(target=post)
        thread.start()
        in_flight = 'loadwatch_http_requests_in_flight{service="social"} 1'
        wait_until(
            lambda: in_flight in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text,
            5,
            what="the slow request started",
        )
        process.send_signal(signal.SIGTERM)
        thread.join(timeout=10)
        assert outcome.get("status") == 201, "the in-flight request was cut instead of drained"
        _, stderr = process.communicate(timeout=30 * TIMEOUT_UNIT_S)
        assert process.returncode == 0, stderr.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("bad", [["--users", "0"], ["--courses", "many"]])
def test_seed_flags_are_validated(bad: list[str]) -> None:
    result = loadwatch("seed", *bad, timeout_s=60)
    assert result.returncode == 2
    assert "expected a whole number" in result.stderr
