"""`loadwatch stack` without daemons: flag mistakes and a bad SLA are exit 2, `status` of a
stack that never started is exit 3, and the token file and configuration it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collector.exit_codes import ExitCode
from collector.sla import default_sla
from loadwatch.cli import main
from promstack.components import StackPorts
from promstack.configure import config_writer, ensure_token, stack_addresses
from tests.conftest import require_tool


@pytest.mark.parametrize(
    "argv",
    [
        ["stack", "restart"],
        ["stack", "up", "--prometheus-port", "70000"],
        ["stack", "status", "--alertmanager-port", "nine"],
    ],
)
def test_flag_mistakes_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == ExitCode.USAGE


def test_a_bad_sla_file_is_exit_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tool("prometheus")  # without it `up` stops at the missing binary first
    absent = tmp_path / "absent.yaml"
    code = main(["stack", "up", "--dir", str(tmp_path / "stack"), "--sla", str(absent)])
    assert code == ExitCode.USAGE
    assert f"{absent}: no such file" in capsys.readouterr().err
    assert not (tmp_path / "stack" / "run").exists()


def test_status_of_a_stack_never_started_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stack", "status", "--dir", str(tmp_path)]) == ExitCode.UNREACHABLE
    out = capsys.readouterr().out
    assert out.count("not running") == 3
    assert "firing alerts: none" in out


def test_the_token_is_created_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "stack" / "receiver.token"
    first = ensure_token(path)
    assert len(first) >= 32 and path.stat().st_mode & 0o777 == 0o600
    assert ensure_token(path) == first
    path.write_text("chosen-by-the-operator\n")
    assert ensure_token(path) == "chosen-by-the-operator"


def test_the_configuration_names_the_stacks_ports(tmp_path: Path) -> None:
    ports = StackPorts(prometheus=19090, alertmanager=19093, pushgateway=19091)
    addresses = stack_addresses(ports, receiver_port=18104, scrape_interval="1s")
    config_writer(default_sla(), {"course": "127.0.0.1:8101"}, addresses)(tmp_path)
    prometheus = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    assert prometheus["global"]["scrape_interval"] == "1s"
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    scraped = [t for job in prometheus["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]]  # fmt: skip
    assert sorted(scraped) == ["127.0.0.1:18104", "127.0.0.1:19091", "127.0.0.1:8101"]
    manager = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    hook = manager["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == "http://127.0.0.1:18104/alerts"
    assert hook["http_config"]["authorization"]["credentials_file"] == "../receiver.token"
    assert yaml.safe_load((tmp_path / "rules.yml").read_text())["groups"]
