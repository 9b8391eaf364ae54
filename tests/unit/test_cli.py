from pathlib import Path

import pytest

from collector.exit_codes import ExitCode
from collector.sla import DEFAULT_SLA_YAML
from loadwatch.cli import main


def test_sla_check_prints_the_parsed_objectives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(DEFAULT_SLA_YAML)
    assert main(["sla", "check", str(path)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert f"{path}: valid" in out
    assert "p95 < 200ms" in out
    assert ">= 99.9% over 30d" in out
    assert ">= 1000 req/s" in out
    assert "route /ai/generate:" in out and "p95 < 1s" in out


def test_sla_check_rejects_a_bad_file_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(DEFAULT_SLA_YAML.replace("error_rate: 1%", "error_rate: lots"))
    assert main(["sla", "check", str(path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert (
        f"{path}: objectives.error_rate: expected a percentage like '1%' or '99.9%', got 'lots'"
        in err
    )


def test_unknown_commands_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == ExitCode.USAGE
    assert "invalid choice" in capsys.readouterr().err
