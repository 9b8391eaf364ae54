"""Child-process orchestration for `loadwatch demo`: start services, wait, stop them all.

Each child runs in its own session, so a Ctrl-C reaches only this process, which then
stops every child (SIGTERM, then SIGKILL after a grace period): no orphans, whichever
way the parent ends. SIGTERM to the parent is turned into the same clean stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

__all__ = ["ChildProcess", "Stack", "StackError", "free_port", "terminate_on_sigterm"]


class StackError(RuntimeError):
    """A child failed to start; the message says which and shows its last output."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ChildProcess:
    """One started child with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str | None = None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    """The children started so far, stopped together by `stop()` (idempotent)."""

    log_dir: Path
    children: list[ChildProcess] = field(default_factory=list)

    def start(self, name: str, args: Sequence[str], *, url: str | None = None) -> ChildProcess:
        """Start `python -m <args>` with its output in log_dir/<name>.log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        child = ChildProcess(name, process, log_path, url)
        self.children.append(child)
        return child

    def wait_healthy(self, child: ChildProcess, timeout_s: float = 60.0) -> None:
        """Poll the child's /healthz until it answers 200, or raise StackError."""
        assert child.url is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise StackError(
                    f"{child.name} exited with {child.process.returncode} during start-up:\n"
                    f"{child.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{child.url}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise StackError(f"{child.name} did not become healthy within {timeout_s:g} s")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM every running child (newest first), then SIGKILL what is left."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in self.children:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt so `finally` clauses run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
