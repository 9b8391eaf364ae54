"""`loadwatch schedule`: cron slots, jitter, skip-while-running, one run per target, precise
config errors, and the loop driven by an injected clock."""

from __future__ import annotations

import io
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runs.schedule import (
    EventKind,
    Job,
    Plan,
    ScheduleConfig,
    ScheduleError,
    cron_interval_s,
    load_schedule,
    parse_schedule,
)
from runs.scheduler import loadtest_command, run_schedule

T0 = datetime(2026, 12, 1, 10, 7, tzinfo=UTC)
HOST = "http://127.0.0.1:8101"


def job(name: str = "a", cron: str = "*/30 * * * *", target: str = HOST, jitter_s: float = 0.0):
    return Job(name, cron, ("course", "--host", target), target, jitter_s)


def test_a_job_fires_on_its_cron_slots() -> None:
    plan = Plan([job()], now=T0, rng=random.Random(1))
    assert plan.next_wake() == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert plan.due(T0 + timedelta(minutes=22)) == []
    (event,) = plan.due(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    assert (event.kind, event.slot.minute) == (EventKind.START, 30)
    assert plan.running == {"a"}
    plan.finished("a")
    assert plan.next_wake() == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def test_a_slot_is_skipped_while_the_previous_run_is_still_going() -> None:
    plan = Plan([job()], now=T0, rng=random.Random(1))
    plan.due(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    (event,) = plan.due(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    assert event.kind is EventKind.SKIP
    assert event.reason == "its previous run is still going"
    plan.finished("a")
    (event,) = plan.due(datetime(2026, 12, 1, 11, 30, tzinfo=UTC))
    assert event.kind is EventKind.START


def test_two_jobs_on_one_target_never_run_at_once_but_other_targets_do() -> None:
    jobs = [job("a"), job("b"), job("c", target="http://127.0.0.1:8102")]
    plan = Plan(jobs, now=T0, rng=random.Random(1))
    events = plan.due(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    assert [(e.job.name, e.kind) for e in events] == [
        ("a", EventKind.START),
        ("b", EventKind.SKIP),
        ("c", EventKind.START),
    ]
    assert events[1].reason == f"a is still running against {HOST}"


def test_jitter_delays_a_start_within_its_bound_and_never_before_the_slot() -> None:
    plan = Plan([job(jitter_s=120.0)], now=T0, rng=random.Random(7))
    wake = plan.next_wake()
    slot = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert slot <= wake <= slot + timedelta(seconds=120)
    assert wake != slot, "this seed draws a non-zero delay"
    assert plan.due(wake - timedelta(seconds=0.5)) == []
    (event,) = plan.due(wake)
    assert event.slot == slot


def test_slots_missed_while_away_are_skipped_as_one() -> None:
    plan = Plan([job()], now=T0, rng=random.Random(1))
    (event,) = plan.due(datetime(2026, 12, 1, 15, 10, tzinfo=UTC))
    assert event.kind is EventKind.START
    assert plan.next_wake() == datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


GOOD = """
history_url: sqlite+aiosqlite:///var/h.sqlite3
pushgateway: http://127.0.0.1:9091
jobs:
  - name: course
    cron: "*/30 * * * *"
    jitter: 1m
    loadtest: course --host http://127.0.0.1:8101 --rate 50 --duration 30s
  - name: mixed
    cron: "0 3 * * *"
    loadtest: [mixed, --host, "http://127.0.0.1:8101", --users, "20"]
"""


def test_a_valid_file_becomes_jobs() -> None:
    config = parse_schedule(GOOD)
    assert config.history_url == "sqlite+aiosqlite:///var/h.sqlite3"
    assert [(j.name, j.cron, j.jitter_s, j.target) for j in config.jobs] == [
        ("course", "*/30 * * * *", 60.0, HOST),
        ("mixed", "0 3 * * *", 0.0, HOST),
    ]
    assert loadtest_command(config.jobs[1], config, T0)[3:] == [
        "loadtest",
        "mixed",
        "--host",
        HOST,
        "--users",
        "20",
        "--record",
        "--history-url",
        "sqlite+aiosqlite:///var/h.sqlite3",
        "--pushgateway",
        "http://127.0.0.1:9091",
        "--schedule-interval",
        "86400s",
        "--label",
        "schedule=mixed",
    ]


@pytest.mark.parametrize(
    ("cron", "interval_s"),
    [
        ("*/30 * * * *", 1800.0),
        ("0 3 * * *", 86_400.0),
        ("0 9 * * 1-5", 3 * 86_400.0),  # Friday to Monday is the longest gap
        ("0 0,6 * * *", 18 * 3600.0),  # uneven slots: the longer gap counts
        ("0 0 1 * *", 31 * 86_400.0),  # monthly: two gaps looked at, December's is 31 days
    ],
)
def test_the_pushed_interval_is_the_crons_longest_gap(cron: str, interval_s: float) -> None:
    assert cron_interval_s(cron, T0) == interval_s


def test_grafana_goes_on_the_command_line_and_its_token_does_not() -> None:
    config = ScheduleConfig(
        (job(),), grafana_url="http://127.0.0.1:3000", grafana_token="glsa_secret"
    )
    command = loadtest_command(config.jobs[0], config, T0)
    assert command[-4:-2] == ["--grafana-url", "http://127.0.0.1:3000"]
    assert not any("glsa_secret" in part for part in command)
    assert "glsa_secret" not in repr(config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('"*/30 * * * *"', '"61 * * * *"'),
            "s.yaml: jobs[0].cron: expected a cron expression like '*/30 * * * *' (Bad minute),"
            " got '61 * * * *'",
        ),
        (("jitter: 1m", "jitter: soon"), "s.yaml: jobs[0].jitter: expected a duration like"),
        (("--rate 50", "--rate fast"), "s.yaml: jobs[0].loadtest: expected valid loadwatch"),
        (("name: mixed", "name: course"), "s.yaml: jobs[1].name: expected a name no other"),
        (('cron: "0 3', 'crон: "0 3'), "s.yaml: jobs[1].crон: expected one of name, cron,"),
        (("http://127.0.0.1:9091", "127.0.0.1:9091"), "s.yaml: pushgateway: expected a URL like"),
        (("--duration 30s", "--record"), "s.yaml: jobs[0].loadtest: expected no --record"),
    ],
)
def test_a_bad_file_names_the_file_field_value_and_what_was_expected(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(GOOD.replace(*change), "s.yaml")
    assert str(caught.value).startswith(message)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"nope.yaml: cannot read \(No such file"):
        load_schedule(tmp_path / "nope.yaml")


class FakeClock:
    """Time that moves only when the loop waits."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(seconds, 0.001))


class Run:
    """A started run that ends when its planned length has passed on the fake clock."""

    def __init__(self, clock: FakeClock, length: timedelta) -> None:
        self.clock, self.ends = clock, clock.now + length
        self.terminated = False

    def poll(self) -> int | None:
        return 0 if self.clock.now >= self.ends or self.terminated else None

    def terminate(self) -> None:
        self.terminated = True

    def kill(self) -> None:
        self.terminated = True


def test_the_loop_starts_skips_and_stops_on_the_injected_clock() -> None:
    """*/30 for three hours with runs of 40 minutes: every other slot is skipped."""
    clock, stop, out = FakeClock(), threading.Event(), io.StringIO()
    started: list[Run] = []

    def launch(job: Job, config: ScheduleConfig) -> Run:
        started.append(Run(clock, timedelta(minutes=40)))
        return started[-1]

    def wait(seconds: float) -> None:
        clock.wait(seconds)
        if clock.now >= T0 + timedelta(hours=3):
            stop.set()

    config = ScheduleConfig((job(),))
    assert run_schedule(config, stop=stop, clock=clock, wait=wait, launch=launch, out=out) == 0
    log = out.getvalue()
    assert log.count(": starting") == 3  # 10:30, 11:30, 12:30
    assert log.count("skipped") == 3  # 11:00, 12:00, 13:00 (still running)
    assert "a: skipped the 11:00 slot (its previous run is still going)" in log
    assert log.count("finished, exit code 0") == 2
    assert "stopping a" in log and log.endswith("loadwatch schedule: stopped\n")
    assert started[-1].terminated


def test_schedule_refuses_a_grafana_url_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from loadwatch.cli import main

    monkeypatch.delenv("LOADWATCH_GRAFANA_TOKEN", raising=False)
    config = tmp_path / "schedule.yaml"
    config.write_text(GOOD)
    assert main(["schedule", "--config", str(config), "--grafana-url", "http://g:3000"]) == 2
    assert capsys.readouterr().err == (
        "loadwatch schedule: --grafana-url: needs --grafana-token (or $LOADWATCH_GRAFANA_TOKEN)\n"
    )
