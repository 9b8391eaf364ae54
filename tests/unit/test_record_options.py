"""`loadwatch loadtest` history and export flags -> RecordOptions, each mistake naming its flag."""

from __future__ import annotations

import pytest

from loadtests.options import RecordOptions, UsageError, record_from_args
from loadtests.record_options import GRAFANA_TOKEN_ENV
from loadwatch.cli import build_parser


def parse(*flags: str, environ: dict[str, str] | None = None) -> RecordOptions:
    args = build_parser().parse_args(["loadtest", "browse", "--host", "http://h:1", *flags])
    return record_from_args(args, environ if environ is not None else {})


def test_no_flags_record_and_push_nothing() -> None:
    assert parse() == RecordOptions()


def test_record_with_labels_a_url_and_a_pushgateway() -> None:
    options = parse(
        "--record",
        "--history-url",
        "postgresql+asyncpg://u@db/h",
        "--label",
        "env=staging",
        "--label",
        "build = 42",
        "--fail-on-regression",
        "--pushgateway",
        "http://127.0.0.1:9091",
    )
    assert options == RecordOptions(
        record=True,
        history_url="postgresql+asyncpg://u@db/h",
        labels={"env": "staging", "build": "42"},
        fail_on_regression=True,
        pushgateway_url="http://127.0.0.1:9091",
    )


def test_push_interval_and_grafana_with_the_token_from_the_environment() -> None:
    options = parse(
        *("--pushgateway", "http://127.0.0.1:9091", "--schedule-interval", "30m"),
        *("--grafana-url", "http://127.0.0.1:3000/"),
        environ={GRAFANA_TOKEN_ENV: "glsa_env"},
    )
    assert options.interval_s == 1800.0
    assert options.grafana_url == "http://127.0.0.1:3000"
    assert options.grafana_token == "glsa_env"
    assert "glsa_env" not in repr(options), "the token stays out of logs"
    flagged = parse("--grafana-url", "http://g:3000", "--grafana-token", "glsa_flag")
    assert flagged.grafana_token == "glsa_flag"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--record", "--label", "env"], "--label: expected KEY=VALUE, got 'env'"),
        (["--label", "a=b"], "--label: only applies with --record"),
        (["--fail-on-regression"], "--fail-on-regression: only applies with --record"),
        (["--history-url", "mysql://x"], "--history-url: expected sqlite+aiosqlite:///FILE"),
        (["--pushgateway", "127.0.0.1:9091"], "--pushgateway: expected a URL like http://"),
        (["--schedule-interval", "30m"], "--schedule-interval: only applies with --pushgateway"),
        (
            ["--pushgateway", "http://p:9091", "--schedule-interval", "often"],
            "--schedule-interval: expected a duration like",
        ),
        (["--grafana-url", "grafana:3000"], "--grafana-url: expected a URL like http://"),
        (["--grafana-url", "http://g:3000"], "--grafana-url: needs --grafana-token"),
        (["--grafana-token", "t"], "--grafana-token: only applies with --grafana-url"),
    ],
)
def test_a_bad_flag_is_named_with_what_was_expected(flags: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(*flags)
    assert str(caught.value).startswith(message)


def test_the_module_runner_refuses_record_rather_than_ignoring_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from loadtests.runner import main

    assert main(["course", "--host", "http://127.0.0.1:1", "--record"]) == 2
    assert "--record: only `loadwatch loadtest` records and pushes runs" in capsys.readouterr().err
    grafana = ["--grafana-url", "http://127.0.0.1:3000", "--grafana-token", "t"]
    assert main(["course", "--host", "http://127.0.0.1:1", *grafana]) == 2
    assert "--grafana-url: only `loadwatch loadtest`" in capsys.readouterr().err
