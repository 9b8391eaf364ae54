"""`--workers auto` (loadtests.worker_count) and the `--judge-window` flag: what the flags
become. Pure except for reading this process's CPU affinity."""

from __future__ import annotations

import argparse
import os

import pytest

from loadtests.options import LoadTestOptions, UsageError, add_arguments, from_args
from loadtests.worker_count import auto_line, choose_workers, local_host, usable_cores

HOST = "http://127.0.0.1:8101"


def parse(*argv: str) -> LoadTestOptions:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_args(parser.parse_args(list(argv)), environ={})


@pytest.mark.parametrize(
    ("usable", "master_here", "service", "workers", "line"),
    [
        (
            2,
            True,
            "127.0.0.1",
            1,
            "--workers auto: 1 worker process (2 usable cores: 1 for the master, 1 for the"
            " service at 127.0.0.1, none to spare, so 1)",
        ),
        (
            8,
            True,
            "localhost",
            3,
            "--workers auto: 3 worker processes (8 usable cores: 1 for the master, 4 for the"
            " service at localhost, 3 to spare)",
        ),
        (
            8,
            True,
            "",
            7,
            "--workers auto: 7 worker processes (8 usable cores: 1 for the master, 7 to spare)",
        ),
        (
            1,
            True,
            "",
            1,
            "--workers auto: 1 worker process (1 usable core: 1 for the master, none to spare,"
            " so 1)",
        ),
        (
            4,
            False,
            "",
            4,
            "--workers auto: 4 worker processes (4 usable cores: 4 to spare; the master runs"
            " elsewhere)",
        ),
    ],
)
def test_auto_takes_one_worker_per_core_to_spare_and_says_why(
    usable: int, master_here: bool, service: str, workers: int, line: str
) -> None:
    choice = choose_workers(usable, master_here=master_here, service=service)
    assert choice.workers == workers
    assert choice.line == line == auto_line(choice.to_dict())


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8101", "127.0.0.1"),
        ("http://127.0.0.2:80", "127.0.0.2"),
        ("http://localhost:8101", "localhost"),
        ("http://[::1]:8101", "::1"),
        ("https://api.example.test", ""),
        ("http://10.0.0.5:8101", ""),
        (None, ""),
    ],
)
def test_a_target_on_this_machine_is_recognised_by_its_loopback_host(
    url: str | None, host: str
) -> None:
    assert local_host(url) == host


def test_usable_cores_follow_this_processs_cpu_affinity() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0)) >= 1


def test_the_auto_flag_becomes_the_chosen_count_recorded_with_its_reason() -> None:
    options = parse("course", "--host", HOST, "--workers", "auto")
    expected = choose_workers(usable_cores(), service="127.0.0.1")
    assert options.workers == expected.workers >= 1
    assert options.workers_auto == expected.to_dict()
    assert LoadTestOptions.from_dict(options.to_dict()).workers_auto == expected.to_dict()
    remote = parse("course", "--host", "https://api.example.test", "--workers", "auto")
    assert remote.workers == choose_workers(usable_cores()).workers
    assert parse("course", "--host", HOST, "--workers", "3").workers_auto is None


def test_auto_on_a_worker_machine_leaves_out_the_master_and_a_master_must_give_a_count() -> None:
    worker = parse("course", "--role", "worker", "--workers", "auto")
    assert worker.workers == choose_workers(usable_cores(), master_here=False).workers
    with pytest.raises(UsageError) as raised:
        parse("course", "--host", HOST, "--role", "master", "--workers", "auto")
    assert str(raised.value) == (
        "--workers: with --role master: how many workers to wait for, not auto"
    )


def test_the_judge_window_flag_reaches_the_gate() -> None:
    options = parse("course", "--host", HOST, "--duration", "3m", "--judge-window", "30s:150s")
    gate = options.gate_options()
    assert (gate.judge_from_s, gate.judge_until_s) == (30.0, 150.0)
    whole = parse("course", "--host", HOST).gate_options()
    assert (whole.judge_from_s, whole.judge_until_s) == (0.0, None)
    with pytest.raises(UsageError) as raised:
        parse("course", "--host", HOST, "--duration", "1m", "--judge-window", "2m:")
    assert raised.value.flag == "--judge-window"
