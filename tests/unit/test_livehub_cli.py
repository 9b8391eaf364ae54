"""`loadwatch serve stream`: the sub-command refuses what it cannot serve with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.exit_codes import ExitCode
from loadwatch.cli import build_parser, main

EXIT_CONFIG = ExitCode.USAGE


def test_serve_stream_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "stream"]) == EXIT_CONFIG
    assert "expected at least one --target URL" in capsys.readouterr().err


def test_serve_stream_names_a_target_that_is_not_an_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "stream", "--target", "127.0.0.1:8101"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "expected an http:// or https:// URL, got '127.0.0.1:8101'" in err


def test_serve_stream_names_the_bad_sla_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sla = tmp_path / "sla.yaml"
    sla.write_text("objectives:\n  latency: {percentile: p95, threshold: fast}\n")
    args = ["serve", "stream", "--target", "http://127.0.0.1:1", "--sla", str(sla)]
    assert main(args) == EXIT_CONFIG
    assert f"{sla}: objectives.latency.threshold" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--target", "--receiver"])
def test_target_and_receiver_belong_to_serve_stream_only(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "course", flag, "http://127.0.0.1:1"]) == EXIT_CONFIG
    assert "--target and --receiver are for `serve stream`" in capsys.readouterr().err


def test_serve_stream_names_a_receiver_that_is_not_an_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["serve", "stream", "--target", "http://127.0.0.1:1", "--receiver", "127.0.0.1:8104"]
    assert main(args) == EXIT_CONFIG
    assert "receiver: expected an http:// or https:// URL" in capsys.readouterr().err


def test_serve_stream_takes_repeated_targets_and_defaults_to_loopback() -> None:
    args = build_parser().parse_args(
        ["serve", "stream", "--target", "http://a:1", "--target", "http://b:2"]
    )
    assert args.service == "stream" and args.target == ["http://a:1", "http://b:2"]
    assert args.host == "127.0.0.1" and args.port is None
