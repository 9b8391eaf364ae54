"""`loadwatch loadtest` flags -> LoadTestOptions, the scenario settings, and what the runner
and its Locust processes exchange. Pure: nothing here imports locust."""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.options import (
    LoadTestOptions,
    ProcessRole,
    ProcessSpec,
    Role,
    RunOutcome,
    StopReason,
    UsageError,
    add_arguments,
    from_args,
)
from loadtests.scenarios import SCENARIOS
from loadtests.scenarios.common import IdPicker, ScenarioSettings, campaign_base_url
from loadtests.stages import parse_stages

HOST = "http://127.0.0.1:8101"


def parse(*argv: str, environ: dict[str, str] | None = None) -> LoadTestOptions:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_args(parser.parse_args(list(argv)), environ={} if environ is None else environ)


def test_defaults_are_a_closed_model_of_ten_users_for_thirty_seconds() -> None:
    options = parse("course", "--host", HOST)
    assert options.model == "closed"
    assert (options.users, options.spawn_rate, options.duration_s) == (10, 10.0, 30.0)
    assert options.workers == 0 and options.processes == 1
    assert options.role is None and options.window_s is None and options.ramp_up_s == 0.0


def test_all_flags_are_parsed_with_their_units() -> None:
    options = parse(
        "mixed",
        "--host",
        HOST + "/",
        "--rate",
        "120",
        "--duration",
        "2m",
        "--workers",
        "3",
        "--window",
        "10s",
        "--ramp-up",
        "15s",
        "--abort-on-fail",
        "--sla",
        "my-sla.yaml",
        "--master-port",
        "6000",
    )
    assert options.host == HOST
    assert options.model == "open" and options.rate == 120.0
    assert options.duration_s == 120.0 and options.window_s == 10.0 and options.ramp_up_s == 15.0
    assert options.workers == 3 and options.master_port == 6000
    assert options.abort_on_fail and options.sla_path == Path("my-sla.yaml")


def test_the_open_model_pool_is_twice_the_rate_per_process_within_50_and_2000() -> None:
    assert parse("course", "--host", HOST, "--rate", "100").pool_size() == 200
    assert parse("course", "--host", HOST, "--rate", "100", "--workers", "4").pool_size() == 50
    assert parse("course", "--host", HOST, "--rate", "10").pool_size() == 50
    assert parse("course", "--host", HOST, "--rate", "5000").pool_size() == 2000
    assert parse("course", "--host", HOST, "--rate", "100", "--connections", "2").pool_size() == 2


@pytest.mark.parametrize(
    ("argv", "flag", "words"),
    [
        (["--users", "0"], "--users", "expected a whole number >= 1, got '0'"),
        (["--users", "many"], "--users", "got 'many'"),
        (["--spawn-rate", "0"], "--spawn-rate", "expected a number > 0"),
        (["--duration", "soon"], "--duration", "expected a duration like"),
        (["--rate", "-5"], "--rate", "expected a number > 0, got '-5'"),
        (["--rate", "5", "--users", "3"], "--users", "cannot be combined with --rate"),
        (["--connections", "4"], "--connections", "only applies to the open model"),
        (["--rate", "5", "--connections", "0"], "--connections", "expected a whole number"),
        (["--workers", "-1"], "--workers", "expected a whole number >= 0"),
        (["--window", "0s"], "--window", "expected a duration"),
        (["--ramp-up", "30s"], "--ramp-up", "expected less than --duration"),
        (["--role", "boss"], "--role", "expected master or worker, got 'boss'"),
        (["--role", "master"], "--workers", "how many workers to wait for"),
        (["--master-port", "6000"], "--master-port", "only applies with --workers N or --role"),
        (["--workers", "1", "--master-port", "70000"], "--master-port", "1..65535"),
        (["--json", "/no/such/folder/run.json"], "--json", "does not exist"),
        (["--html", "/no/such/folder/run.html"], "--html", "does not exist"),
    ],
)
def test_a_bad_flag_is_a_usage_error_that_names_the_flag(
    argv: list[str], flag: str, words: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse("course", "--host", HOST, *argv)
    assert info.value.flag == flag
    assert str(info.value).startswith(f"{flag}: ")
    assert words in str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1:8101", "ftp://example.test", "http://h:99999"])
def test_a_host_must_be_an_http_base_url(host: str) -> None:
    with pytest.raises(UsageError) as info:
        parse("course", "--host", host)
    assert info.value.flag == "--host"


def test_the_host_is_required_except_on_worker_machines() -> None:
    with pytest.raises(UsageError, match="--host: required"):
        parse("course")
    worker = parse("course", "--role", "worker", "--master-host", "10.0.0.5")
    assert worker.role is Role.WORKER and worker.host is None
    assert worker.master_host == "10.0.0.5"


def test_an_unknown_scenario_names_the_built_in_ones_and_the_locustfile_form() -> None:
    with pytest.raises(UsageError, match=r"scenario: expected a built-in scenario \(campaign, "):
        parse("checkout", "--host", HOST)


def test_a_locustfile_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"scenario: .*nowhere\.py: no such file"):
        parse(str(tmp_path / "nowhere.py"), "--host", HOST)


def test_a_locustfile_runs_under_its_absolute_path_and_the_service_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.py").write_text("")
    monkeypatch.chdir(tmp_path)
    options = parse("mine.py", "--host", HOST, "--service", "course")
    assert options.scenario == str(tmp_path / "mine.py")
    assert options.resolved().service == "course" and not options.resolved().built_in
    assert options.gate_options(33.0).service == "course"
    assert parse("mine.py", "--host", HOST).gate_options().service is None
    with pytest.raises(UsageError, match="--think-time: only applies to the built-in"):
        parse("mine.py", "--host", HOST, "--think-time", "1s")


def test_built_in_scenarios_are_locustfiles_shipped_in_the_package() -> None:
    for name, scenario in SCENARIOS.items():
        assert scenario.path.parent.name == "locustfiles" and scenario.path.is_file()
        assert parse(name, "--host", HOST).scenario == name
    assert parse("course", "--host", HOST, "--service", "campaign").gate_options().service == (
        "campaign"
    )


def test_the_closed_ceiling_only_applies_to_the_closed_model() -> None:
    assert parse("course", "--host", HOST).gate_options(33.0).closed_ceiling_rps == 33.0
    assert (
        parse("course", "--host", HOST, "--rate", "9").gate_options(33.0).closed_ceiling_rps is None
    )


def test_scenario_settings_come_from_the_seed_variables() -> None:
    environ = {
        "LOADWATCH_SEED_USERS": "500",
        "LOADWATCH_SEED_COURSES": "20",
        "LOADWATCH_SEED_CAMPAIGNS": "10",
        "LOADWATCH_CAMPAIGN_HOST": "http://127.0.0.1:9102/",
    }
    settings = parse("mixed", "--host", HOST, environ=environ).settings
    assert (settings.users, settings.courses, settings.campaigns) == (500, 20, 10)
    assert settings.videos == 40 and settings.enrollments == 1500
    assert settings.campaign_host == "http://127.0.0.1:9102"


def test_a_bad_seed_variable_is_a_usage_error_naming_the_variable() -> None:
    with pytest.raises(UsageError) as info:
        parse("course", "--host", HOST, environ={"LOADWATCH_SEED_USERS": "lots"})
    assert info.value.flag == "LOADWATCH_SEED_USERS"
    assert "expected a whole number >= 1, got 'lots'" in str(info.value)


def test_the_campaign_service_defaults_to_port_8102_on_the_course_host() -> None:
    assert campaign_base_url("http://10.1.2.3:8101", ScenarioSettings()) == "http://10.1.2.3:8102"
    custom = ScenarioSettings(campaign_host="http://other:9000")
    assert campaign_base_url("http://10.1.2.3:8101", custom) == "http://other:9000"


def test_ids_are_drawn_from_the_seeded_ranges_and_mostly_from_the_hot_set() -> None:
    settings = ScenarioSettings(users=50, courses=5, campaigns=7)
    picker = IdPicker(settings, random.Random(7))
    pairs = [picker.content_pair() for _ in range(2000)]
    assert all(1 <= c <= 5 and 1 <= u <= 50 for c, u in pairs)
    hot = sum(pair in picker.hot for pair in pairs) / len(pairs)
    assert 0.85 < hot <= 1.0
    assert {picker.video() for _ in range(500)} <= set(range(1, 11))
    assert {picker.campaign() for _ in range(500)} == set(range(1, 8))
    assert all(1 <= picker.enrollment() <= 150 for _ in range(500))


def test_the_hot_set_is_the_same_in_every_process() -> None:
    settings = ScenarioSettings()
    assert IdPicker(settings, random.Random(1)).hot == IdPicker(settings, random.Random(2)).hot


def test_every_scenario_names_its_sla_service() -> None:
    assert {name: s.service for name, s in SCENARIOS.items()} == {
        "course": "course",
        "campaign": "campaign",
        "mixed": None,
    }


def test_the_orchestrator_side_imports_neither_locust_nor_gevent() -> None:
    code = (
        "import sys, loadtests, loadtests.options, loadtests.runner, loadtests.progress;"
        "bad = {'locust', 'gevent'} & set(sys.modules); assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_process_spec_survives_the_trip_to_a_child_process_as_json(tmp_path: Path) -> None:
    options = parse("course", "--host", HOST, "--rate", "50", "--json", str(tmp_path / "run.json"))
    spec = ProcessSpec(
        ProcessRole.MASTER, options, sla_path=tmp_path / "sla.yaml", result_path=tmp_path / "r"
    )
    assert ProcessSpec.from_json(spec.to_json()) == spec


def test_a_run_outcome_survives_the_trip_back_as_a_dict() -> None:
    outcome = RunOutcome(
        recorder={"overall": {}},
        duration_s=9.5,
        started_at_s=1_700_000_000.0,
        stopped=StopReason.ABORT_ON_FAIL,
        detail="latency p95 < 1us",
        abort_threshold={"name": "latency p95 < 1us"},
        worker_requests={"a": 3, "b": 4},
        locust_requests=7,
    )
    assert RunOutcome.from_dict(outcome.to_dict()) == outcome


def test_think_time_sets_the_closed_models_mean_pause() -> None:
    import argparse

    from loadtests.options import add_arguments, from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = from_args(
        parser.parse_args(["course", "--host", "http://127.0.0.1:8101", "--think-time", "10s"]),
        environ={},
    )
    assert options.settings.think_s == 10.0
    with pytest.raises(UsageError, match="--think-time"):
        from_args(
            parser.parse_args(
                ["course", "--host", "http://127.0.0.1:8101", "--rate", "5", "--think-time", "1s"]
            ),
            environ={},
        )


@pytest.mark.parametrize(
    ("host", "campaign_host", "local"),
    [
        ("http://127.0.0.1:8101", None, True),
        ("http://localhost:8101", None, True),
        ("http://[::1]:8101", "http://127.0.0.1:8102", True),
        ("http://course.internal:8101", None, False),
        ("http://127.0.0.1:8101", "http://campaign.internal:8102", False),
    ],
)
def test_gevents_blocking_resolver_is_chosen_only_when_no_name_needs_dns(
    host: str, campaign_host: str | None, local: bool
) -> None:
    from loadtests.runner import _resolves_locally

    environ = {"LOADWATCH_CAMPAIGN_HOST": campaign_host} if campaign_host else {}
    assert _resolves_locally(parse("mixed", "--host", host, environ=environ)) is local


def test_published_counts_size_the_id_ranges_unless_a_variable_set_them() -> None:
    published = {"users": 300, "courses": 5, "videos": 10, "enrollments": 900, "campaigns": 50}
    fitted = ScenarioSettings().with_dataset(published)
    assert (fitted.users, fitted.courses, fitted.campaigns) == (300, 5, 50)
    assert (fitted.videos, fitted.enrollments) == (10, 900)
    pinned = ScenarioSettings.from_environ({"LOADWATCH_SEED_USERS": "40"}).with_dataset(published)
    assert (pinned.users, pinned.courses, pinned.campaigns) == (40, 5, 50)
    assert (pinned.videos, pinned.enrollments) == (10, 40 * 3)  # derived from the pinned users
    empty = ScenarioSettings().with_dataset({"users": 0, "campaigns": 0})
    assert empty == ScenarioSettings()
    assert ScenarioSettings.from_dict(pinned.to_dict()) == pinned
    picker = IdPicker(fitted, random.Random(3))
    assert max(picker.user() for _ in range(3000)) == 300
    assert max(picker.enrollment() for _ in range(3000)) <= 900


def test_stages_set_a_closed_run_of_their_peak_users_for_their_total_duration() -> None:
    options = parse("course", "--host", HOST, "--stages", "30s:100,2m:500,30s:1500,1m:0")
    assert options.model == "closed" and options.users == 1500 and options.rate is None
    assert options.duration_s == 240.0 and options.stages == "30s:100,2m:500,30s:1500,1m:0"
    shape = options.shape()
    assert shape is not None and shape.target_at(15.0) == 50.0


def test_open_model_stages_are_req_per_s_and_size_the_pool_by_their_peak() -> None:
    options = parse("course", "--host", HOST, "--stages", "10s:40.5,20s:300", "--model", "open")
    assert options.model == "open" and options.rate == 300.0 and options.duration_s == 30.0
    assert options.pool_size() == 600
    assert parse("course", "--host", HOST, "--stages", "10s:40", "--model", "open",
                 "--connections", "7").pool_size() == 7  # fmt: skip


def test_a_duration_that_repeats_the_stages_total_is_accepted() -> None:
    options = parse("course", "--host", HOST, "--stages", "1m:10,30s:0", "--duration", "90s")
    assert options.duration_s == 90.0


@pytest.mark.parametrize(
    ("argv", "flag", "words"),
    [
        (
            ["--stages", "30s:10", "--duration", "1m"],
            "--duration",
            "contradicts --stages, which last 30 s",
        ),
        (["--stages", "30s:10", "--users", "5"], "--users", "cannot be combined with --stages"),
        (["--stages", "30s:10", "--spawn-rate", "5"], "--spawn-rate", "cannot be combined"),
        (["--stages", "30s:10", "--rate", "5"], "--rate", "cannot be combined with --stages"),
        (["--stages", "30s:2.5"], "--stages", "expected whole numbers, got 2.5"),
        (["--stages", "30s:0,1m:0"], "--stages", "every target is 0"),
        (["--stages", "30s:10,2m"], "--stages", "stage 2 '2m': expected DURATION:TARGET"),
        (["--stages", "745h:10"], "--stages", "at most 30d"),
        (["--model", "open"], "--model", "only applies with --stages"),
        (["--stages", "30s:10", "--model", "opened"], "--model", "closed or open, got 'opened'"),
        (["--stages", "30s:10", "--connections", "5"], "--connections", "open model"),
        (["--stages", "30s:10", "--model", "open", "--think-time", "1s"], "--think-time", "open"),
        (["--stages", "30s:10", "--ramp-up", "30s"], "--ramp-up", "less than --duration (30 s)"),
    ],
)
def test_a_bad_stages_flag_is_a_usage_error_that_names_the_flag(
    argv: list[str], flag: str, words: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse("course", "--host", HOST, *argv)
    assert info.value.flag == flag and words in str(info.value)


def test_stages_survive_the_trip_to_a_locust_process() -> None:
    options = parse("course", "--host", HOST, "--stages", "5s:20,5s:0", "--model", "open")
    again = LoadTestOptions.from_dict(options.to_dict())
    assert again == options and again.shape() == options.shape()


def test_a_program_shapes_a_run_as_the_stages_flag_would() -> None:
    stages = parse_stages("10s:50,20s:50,10s:0")
    base = parse("course", "--host", HOST, "--rate", "10")
    opened = base.shaped(stages, open_model=True)
    flagged = parse("course", "--host", HOST, "--stages", stages.spec, "--model", "open")
    assert (opened.rate, opened.duration_s, opened.shape()) == (50.0, 40.0, stages)
    assert opened == flagged
    closed = base.shaped(stages, open_model=False)
    assert (closed.model, closed.users, closed.duration_s) == ("closed", 50, 40.0)
