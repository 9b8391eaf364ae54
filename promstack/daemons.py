"""Detached daemons with pid files: start, find, stop (the I/O half of `loadwatch stack`).

A daemon runs in its own session, so it outlives the command that started it. Its pid file
(``<state_dir>/<name>.pid``) holds the pid and the process's start time, so a pid reused by
an unrelated process after a reboot or crash is never mistaken for, or killed as, ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from promstack.components import Component

__all__ = [
    "DaemonError",
    "RunningDaemon",
    "find_running",
    "log_tail",
    "start_daemon",
    "stop_daemon",
    "wait_until",
]


class DaemonError(RuntimeError):
    """A daemon could not start or stop; the message names it and shows its last log lines."""


@dataclass(frozen=True, slots=True)
class RunningDaemon:
    """A live daemon found through its pid file."""

    name: str
    pid: int
    log_path: Path


def _pid_path(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.pid"


def _log_path(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.log"


def find_running(state_dir: Path, name: str) -> RunningDaemon | None:
    """The daemon `name` if its pid file names a live process started when the file says.

    A stale pid file (process gone, or its pid now held by another process) is removed.
    """
    path = _pid_path(state_dir, name)
    try:
        record = json.loads(path.read_text())
        pid, started = int(record["pid"]), float(record["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        process = psutil.Process(pid)
        alive = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        same = abs(process.create_time() - started) < 1.0
    except psutil.Error:
        alive = same = False
    if alive and same:
        return RunningDaemon(name, pid, _log_path(state_dir, name))
    path.unlink(missing_ok=True)
    return None


def start_daemon(component: Component, state_dir: Path) -> RunningDaemon:
    """Start `component` detached, its output appended to ``<state_dir>/<name>.log``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = _log_path(state_dir, component.name)
    log_path.touch()
    # posix_spawn, not Popen: the daemon must outlive this process, and a Popen object
    # would warn at exit that its child is still running.
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_APPEND, 0),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        pid = os.posix_spawnp(
            component.argv[0], component.argv, os.environ, file_actions=actions, setsid=True
        )
    except OSError as exc:
        raise DaemonError(f"{component.name}: cannot start {component.binary}: {exc}") from None
    started = psutil.Process(pid).create_time()
    record = json.dumps({"pid": pid, "started": started, "argv": list(component.argv)})
    tmp = _pid_path(state_dir, component.name).with_suffix(".pid.tmp")
    tmp.write_text(record)
    tmp.replace(_pid_path(state_dir, component.name))
    return RunningDaemon(component.name, pid, log_path)


def stop_daemon(daemon: RunningDaemon, state_dir: Path, grace_s: float = 10.0) -> None:
    """SIGTERM the daemon, wait up to `grace_s` seconds, then SIGKILL; remove its pid file."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(daemon.pid, signal.SIGTERM)
    try:
        psutil.Process(daemon.pid).wait(timeout=grace_s)
    except psutil.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.Error):
            psutil.Process(daemon.pid).wait(timeout=grace_s)
    except psutil.NoSuchProcess:
        pass
    _pid_path(state_dir, daemon.name).unlink(missing_ok=True)


def log_tail(daemon_log: Path, lines: int = 15) -> str:
    """The last `lines` lines of a daemon's log, or '' when it cannot be read."""
    try:
        return "\n".join(daemon_log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll `predicate()` until it returns True or `timeout_s` seconds pass."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
