"""Every user mistake the CLI can detect exits 2 with one line naming the value, and no
traceback: a port in use, a host that does not resolve, an unusable SQLite path, a
malformed URL, absurd durations."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.loadtest_helpers import loadwatch


def run(*args: str, cwd: Path) -> tuple[int, list[str]]:
    """Run `python -m loadwatch args` in `cwd`: (exit code, stderr lines)."""
    result = loadwatch(*args, cwd=cwd, timeout_s=60)
    return result.returncode, result.stderr.strip().splitlines()


def assert_refused(args: list[str], cwd: Path, *named: str) -> None:
    code, lines = run(*args, cwd=cwd)
    assert code == 2, lines
    assert not any("Traceback" in line for line in lines), lines
    assert len(lines) == 1, lines
    for value in named:
        assert value in lines[0], lines


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 another socket is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def test_serving_on_a_port_in_use_names_the_address(busy_port: int, tmp_path: Path) -> None:
    assert_refused(
        ["serve", "social", "--port", str(busy_port)],
        tmp_path,
        f"127.0.0.1:{busy_port}",
        "Address already in use",
    )


@pytest.mark.parametrize("host", ["999.1.1.1", "no-such-host.invalid"])
def test_serving_on_a_host_that_does_not_resolve_names_it(host: str, tmp_path: Path) -> None:
    assert_refused(["serve", "social", "--host", host, "--port", "0"], tmp_path, repr(host))


def test_a_sqlite_path_under_a_file_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    url = f"sqlite+aiosqlite:///{blocker / 'course.sqlite3'}"
    args = ["serve", "course", "--port", "0", "--database-url", url]
    assert_refused(args, tmp_path, str(blocker), "is a file")


def test_seeding_a_sqlite_path_under_a_file_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    url = f"sqlite+aiosqlite:///{blocker / 'both.sqlite3'}"
    assert_refused(["seed", "--database-url", url], tmp_path, str(blocker), "is a file")


def test_a_sqlite_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}"
    args = ["serve", "campaign", "--port", "0", "--database-url", url]
    assert_refused(args, tmp_path, str(tmp_path), "is a directory")


def test_a_malformed_target_url_names_it(repo_root: Path) -> None:
    assert_refused(
        ["loadtest", "course", "--host", "http://[::1"], repo_root, "--host", "'http://[::1'"
    )


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--duration", "99999999999999999999999d"),
        ("--duration", "31d"),
        ("--duration", "1" + "0" * 400 + "s"),
        ("--window", "999999999h"),
    ],
)
def test_absurd_load_test_durations_are_refused(flag: str, value: str, repo_root: Path) -> None:
    args = ["loadtest", "course", "--host", "http://127.0.0.1:1", flag, value]
    assert_refused(args, repo_root, flag, repr(value))


@pytest.mark.parametrize("value", ["inf", "nan", "1e30"])
def test_absurd_demo_durations_are_refused_by_the_parser(value: str, tmp_path: Path) -> None:
    code, lines = run("demo", "--duration", value, cwd=tmp_path)
    assert code == 2
    assert lines[-1].startswith("loadwatch demo: error: argument --duration:"), lines
    assert repr(value) in lines[-1]
    assert not any("Traceback" in line for line in lines)
