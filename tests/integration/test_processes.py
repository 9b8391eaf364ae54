"""`runtime.processes`: real child processes started in one group and stopped together."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runtime.ports import free_port
from runtime.processes import ChildError, Output, ProcessGroup, python_command
from tests.conftest import TIMEOUT_UNIT_S
from tests.waiting import wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def gone(pid: int) -> bool:
    """Whether `pid` no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_stop_ends_every_child_and_what_the_children_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    spawner = textwrap.dedent(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen({SLEEPER!r})
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(600)
        """
    )
    group = ProcessGroup(grace_s=10.0)
    first = group.start("first", SLEEPER, output=Output.DISCARD)
    second = group.start("spawner", [sys.executable, "-c", spawner], output=Output.DISCARD)
    wait_until(
        lambda: pid_file.is_file() and pid_file.read_text(), what="the grandchild never started"
    )
    grandchild = int(pid_file.read_text())
    group.stop()
    assert first.process.returncode == -signal.SIGTERM
    assert second.process.returncode == -signal.SIGTERM
    wait_until(lambda: gone(grandchild), what="the grandchild outlived the group")
    group.stop()  # idempotent: nothing left to signal


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stubborn = textwrap.dedent(
        """
        import signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    with ProcessGroup(tmp_path, grace_s=0.5) as group:
        child = group.start("stubborn", [sys.executable, "-c", stubborn], output=Output.LOG)
        polite = group.start("polite", SLEEPER, output=Output.DISCARD)
        wait_until(lambda: child.tail() == "ready", what="the stubborn child never got ready")
    assert child.process.returncode == -signal.SIGKILL
    assert polite.process.returncode == -signal.SIGTERM


def test_a_child_that_dies_during_start_up_is_reported_with_its_last_output(
    tmp_path: Path,
) -> None:
    crash = "import sys; print('bad flag --frobnicate'); sys.exit(4)"
    with ProcessGroup(log_dir=tmp_path) as group:
        child = group.start(
            "crasher", [sys.executable, "-c", crash], url="http://127.0.0.1:1", output=Output.LOG
        )
        with pytest.raises(ChildError, match=r"crasher exited with 4 during start-up") as info:
            group.wait_ready(child, timeout_s=30 * TIMEOUT_UNIT_S)
    assert "bad flag --frobnicate" in str(info.value)
    assert child.log_path == tmp_path / "crasher.log"


def test_wait_ready_polls_healthz_until_the_service_answers() -> None:
    port = free_port()
    with ProcessGroup() as group:
        child = group.start(
            "social",
            python_command("loadwatch", "serve", "social", "--port", str(port)),
            url=f"http://127.0.0.1:{port}",
            output=Output.DISCARD,
        )
        group.wait_ready(child, timeout_s=60 * TIMEOUT_UNIT_S)
    assert child.process.returncode == 0  # the service stopped cleanly on SIGTERM


def test_a_child_started_after_the_others_ended_leads_a_new_group() -> None:
    with ProcessGroup() as group:
        first = group.start("short", [sys.executable, "-c", "pass"], output=Output.DISCARD)
        first.process.wait()
        second = group.start("next", SLEEPER, output=Output.DISCARD)
        assert second.process.poll() is None
    assert second.process.returncode == -signal.SIGTERM


def test_a_log_needs_a_log_dir() -> None:
    with pytest.raises(ValueError, match="Output.LOG needs a ProcessGroup with a log_dir"):
        ProcessGroup().start("x", SLEEPER, output=Output.LOG)


def test_sigterm_to_the_parent_stops_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "children.pid"
    parent = textwrap.dedent(
        f"""
        import sys, time
        from runtime.processes import Output, ProcessGroup, terminate_on_sigterm
        try:
            with terminate_on_sigterm(), ProcessGroup() as group:
                pids = [group.start(str(i), {SLEEPER!r}, output=Output.DISCARD).process.pid
                        for i in range(2)]
                open({str(pid_file)!r}, "w").write(" ".join(map(str, pids)))
                time.sleep(600)
        except KeyboardInterrupt:
            print("stopped", flush=True)
            sys.exit(3)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    try:
        wait_until(
            lambda: pid_file.is_file() and pid_file.read_text(), what="the children never started"
        )
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30 * TIMEOUT_UNIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 3 and out == "stopped\n"
    assert all(gone(int(pid)) for pid in pid_file.read_text().split())
