"""Child processes for the integration tests: the example service on a free port, the
`loadwatch` / `loadtests.runner` command lines with a deadline, waiting for a served port,
seeding a database, and the JSON summary a run writes.

    with hello_service() as url:                  # examples/hello_service.py, answering
        result = loadtest(tmp_path, str(EXAMPLE_LOCUSTFILE), "--host", url, "--json", ...)
    summary = summary_of(tmp_path / "run.json")
    done = loadwatch("capacity", ..., cwd=tmp_path)                  # run to its exit
    process = subprocess.Popen(loadwatch_command("serve", "course", "--port", str(port)))
    wait_until_serving(port, process)

The `hello_url` fixture (tests/integration/conftest.py) is one `hello_service()` per module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S
from tests.waiting import wait_until

__all__ = [
    "EXAMPLE_LOCUSTFILE",
    "ROOT",
    "UNSEEDED_ENV",
    "hello_service",
    "json_from_script",
    "loadtest",
    "loadwatch",
    "loadwatch_command",
    "run_module",
    "seed_sqlite",
    "stop",
    "summary_of",
    "wait_until_answering",
    "wait_until_serving",
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_LOCUSTFILE = ROOT / "examples" / "hello_locustfile.py"
UNSEEDED_ENV = {k: v for k, v in os.environ.items() if not k.startswith("LOADWATCH_SEED_")}
"""This environment without LOADWATCH_SEED_* (which tell the built-in scenarios id ranges)."""


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], timeout_s: float, *, status: int | None = None
) -> None:
    """Poll `url` until an HTTP answer comes (with `status`, when given) within `timeout_s`
    seconds (scaled); fails at once if `process` exits meanwhile."""

    def answering() -> bool:
        assert process.poll() is None, "the server exited during start-up"
        try:
            response = httpx.get(url, timeout=1)
        except httpx.HTTPError:
            return False
        return status is None or response.status_code == status

    wait_until(answering, timeout_s, what=f"an answer at {url}", poll_s=0.1)


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """Until /healthz on 127.0.0.1:`port` answers 200 (a `loadwatch serve` child is up)."""
    url = f"http://127.0.0.1:{port}/healthz"
    wait_until_answering(url, process, timeout_s, status=200)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process`, killing it if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def hello_service(timeout_s: float = 30) -> Iterator[str]:
    """examples/hello_service.py in a child process on a free port: its base URL once
    /hello answers; stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.hello_service", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/hello", process, timeout_s=timeout_s)
        yield url
    finally:
        stop(process)


def run_module(
    module: str,
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 90,
) -> subprocess.CompletedProcess[str]:
    """`python -m module args...`, its output captured as text; TimeoutExpired after
    `timeout_s` seconds (scaled). The exit code is the caller's to check."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=None if env is None else dict(env),
        timeout=timeout_s * TIMEOUT_UNIT_S,
        check=False,
    )


def loadwatch_command(*args: str) -> list[str]:
    """The argv of `loadwatch args...`, for a child process the test drives itself."""
    return [sys.executable, "-m", "loadwatch", *args]


def loadwatch(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The `loadwatch` command line, as a user runs it."""
    return run_module("loadwatch", *args, cwd=cwd, env=env, timeout_s=timeout_s)


def loadtest(
    tmp: Path, *args: str, timeout_s: float = 90, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`loadwatch loadtest args...` (as `python -m loadtests.runner`) in folder `tmp`, by
    default without LOADWATCH_SEED_* in its environment."""
    return run_module(
        "loadtests.runner",
        *args,
        cwd=tmp,
        env=UNSEEDED_ENV if env is None else env,
        timeout_s=timeout_s,
    )


def seed_sqlite(folder: Path, counts: Mapping[str, int | str]) -> str:
    """`loadwatch seed --users N ...` (a flag per entry of `counts`) into a new SQLite file
    in `folder`: its database URL."""
    database = f"sqlite+aiosqlite:///{folder / 'seeded.sqlite3'}"
    flags = [f for name, count in counts.items() for f in (f"--{name}", str(count))]
    result = loadwatch("seed", "--database-url", database, *flags)
    assert result.returncode == 0, result.stderr
    return database


def json_from_script(script: str, *args: str, timeout_s: float = 60) -> Any:
    """Run `python -c script args...` and parse its last line of output as JSON: for code
    that must not run in the test process (importing locust patches it with gevent).
    CalledProcessError if the script fails."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout_s * TIMEOUT_UNIT_S,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def summary_of(path: Path) -> dict[str, Any]:
    """The JSON summary a run wrote with --json."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data
