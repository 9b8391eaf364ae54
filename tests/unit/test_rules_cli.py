"""`loadwatch rules` and the burn-rate warning of `loadwatch sla check`; the drift test."""

import filecmp
from pathlib import Path

import pytest

from collector.exit_codes import ExitCode
from collector.sla import DEFAULT_SLA_YAML
from loadwatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "alert_rules" / "generated"


def test_the_committed_rules_match_sla_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "--sla", str(ROOT / "sla.yaml"), "--out", str(tmp_path)]) == ExitCode.OK
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in GENERATED.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, GENERATED, written, shallow=False)
    assert not mismatch and not errors, (
        f"alert_rules/generated/ is out of date ({', '.join(mismatch + errors)}): "
        "run `loadwatch rules` and commit the result"
    )
    assert f"wrote {tmp_path / 'rules.yml'}" in capsys.readouterr().out


def test_rules_reject_a_bad_sla_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(DEFAULT_SLA_YAML.replace("target: 99.9%", "target: 120%"))
    assert main(["rules", "--sla", str(path), "--out", str(tmp_path / "out")]) == ExitCode.USAGE
    assert "objectives.availability.target" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_sla_check_warns_when_a_page_can_never_fire(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(DEFAULT_SLA_YAML.replace("99.9%", "90%"))
    assert main(["sla", "check", str(path)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "warning: objectives.availability: an error budget of 0.1 (10.00%) is too large" in out
    assert "page at 14.4x over 1h (144% bad)" in out


def test_sla_check_is_silent_about_reachable_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(DEFAULT_SLA_YAML)
    assert main(["sla", "check", str(path)]) == ExitCode.OK
    assert "warning" not in capsys.readouterr().out
