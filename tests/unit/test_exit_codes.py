"""One table of exit codes, used by the CLI, the load-test runner and the services' commands."""

from __future__ import annotations

import pytest

from collector.exit_codes import ExitCode
from loadtests.runner import main as loadtest_main
from loadwatch.cli import build_parser
from loadwatch.services import SeedSizes, run_seed, run_serve


def test_the_table_is_the_documented_one() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "FAILED": 1,
        "USAGE": 2,
        "UNREACHABLE": 3,
    }
    assert ExitCode.ABORTED is ExitCode.UNREACHABLE
    assert ExitCode(3) is ExitCode.UNREACHABLE


def test_every_code_says_what_it_means_in_the_help() -> None:
    help_text = build_parser().format_help()
    for code in ExitCode:
        assert code.meaning
        assert f"  {code.value}  {code.meaning}" in help_text


def test_bad_settings_are_usage_errors_before_any_io(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_seed(database_url="mysql://x", sizes=SeedSizes(), reset=False) is ExitCode.USAGE
    assert "database_url: expected a URL starting with" in capsys.readouterr().err
    code = run_serve("course", host="127.0.0.1", port=0, database_url="mysql://x", redis_url=None)
    assert code is ExitCode.USAGE
    code = run_serve(
        "social",
        host="127.0.0.1",
        port=0,
        database_url=None,
        redis_url=None,
        platforms=["twitter:fast"],
    )
    assert code is ExitCode.USAGE
    assert "--platform:" in capsys.readouterr().err


def test_a_load_test_without_a_host_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert loadtest_main(["course"]) is ExitCode.USAGE
    assert "loadwatch loadtest:" in capsys.readouterr().err
