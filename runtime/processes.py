"""One group of child processes, stopped together: no orphans, whichever way the parent ends.

    with terminate_on_sigterm(), ProcessGroup(log_dir=Path("var/logs")) as group:
        child = group.start("course", python_command("loadwatch", "serve", "course"),
                            url="http://127.0.0.1:8101", output=Output.LOG)
        group.wait_ready(child)
        ...
    # leaving the block: SIGTERM to the group, SIGKILL after `grace_s`, every child reaped

Every child joins one process group apart from the parent's (the first child leads it), so
a Ctrl-C at the terminal reaches only the parent, which then stops the group; what the
children start themselves is signalled with them. `terminate_on_sigterm` turns SIGTERM to
the parent into the same clean stop. Standard library only: the load-test runner imports
this without aiohttp or httpx.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO
from urllib.parse import urlsplit

__all__ = [
    "Child",
    "ChildError",
    "Output",
    "ProcessGroup",
    "healthz_ok",
    "python_command",
    "terminate_on_sigterm",
]

_POLL_S = 0.05
"""How often a wait checks the children (seconds)."""


class ChildError(RuntimeError):
    """A child failed to start; the message says which and shows its last output."""


class Output(enum.Enum):
    """Where a child's stdout and stderr go."""

    INHERIT = "inherit"
    """The parent's stdout and stderr."""
    LOG = "log"
    """`<log_dir>/<name>.log`, stderr merged into stdout."""
    DISCARD = "discard"
    """Nowhere."""


@dataclass
class Child:
    """One started child: its name, process, log file (Output.LOG only) and base URL."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    url: str | None = None

    def tail(self, lines: int = 15) -> str:
        """The last `lines` lines of the log file ("" without one)."""
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def python_command(module: str, *args: str) -> list[str]:
    """`python -m module args...` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def healthz_ok(url: str, timeout_s: float = 1.0) -> bool:
    """Whether GET `url`/healthz answers 200 within `timeout_s` seconds (plain HTTP, no proxy)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout_s
    )
    try:
        connection.request("GET", f"{parts.path.rstrip('/')}/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


class ProcessGroup:
    """Children in one process group, stopped together by `stop()` (idempotent).

    `log_dir` is where Output.LOG children write; `grace_s` is how long `stop()` waits
    after SIGTERM before SIGKILL (seconds). Use from one thread.
    """

    def __init__(self, log_dir: Path | None = None, *, grace_s: float = 10.0) -> None:
        self.log_dir = log_dir
        self.grace_s = grace_s
        self.children: list[Child] = []
        self._pgid: int | None = None

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _unreaped(self) -> bool:
        """Whether a child is alive or a zombie, which keeps the group's id ours."""
        return any(child.process.poll() is None for child in self.children)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        url: str | None = None,
        output: Output = Output.INHERIT,
    ) -> Child:
        """Start `argv` in the group with `env` (default: this process's environment).

        stdin is /dev/null. Raises ValueError for Output.LOG without a `log_dir`, and
        OSError when `argv[0]` cannot be run.
        """
        log_path = None
        if output is Output.LOG:
            if self.log_dir is None:
                raise ValueError(f"{name}: Output.LOG needs a ProcessGroup with a log_dir")
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.log_dir / f"{name}.log"
        # A group whose members are all reaped may be gone: the next child leads a new one.
        group = self._pgid if self._pgid is not None and self._unreaped() else 0
        with contextlib.ExitStack() as files:
            stdout: int | IO[bytes] | None = subprocess.DEVNULL
            if log_path is not None:
                stdout = files.enter_context(log_path.open("wb"))
            elif output is Output.INHERIT:
                stdout = None
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT if log_path is not None else stdout,
                env=dict(env) if env is not None else None,
                process_group=group,
            )
        if group == 0:
            self._pgid = process.pid
        child = Child(name, process, log_path, url)
        self.children.append(child)
        return child

    def wait_ready(
        self,
        child: Child,
        timeout_s: float = 60.0,
        *,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        """Poll `ready` (default: the child's /healthz answers 200) until it holds.

        Raises ChildError when the child exits first (with its last output) or after
        `timeout_s` seconds.
        """
        if ready is None:
            if child.url is None:
                raise ValueError(f"{child.name}: wait_ready needs a child url or a ready check")
            base = child.url

            def ready() -> bool:
                return healthz_ok(base)

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise ChildError(
                    f"{child.name} exited with {child.process.returncode} during start-up:\n"
                    f"{child.tail()}"
                )
            if ready():
                return
            time.sleep(_POLL_S * 2)
        raise ChildError(f"{child.name} did not become ready within {timeout_s:g} s")

    def stop(self, grace_s: float | None = None) -> None:
        """SIGTERM the group, SIGKILL it after `grace_s` seconds (default: the group's),
        then reap every child. Returns at once when every child is already reaped.

        The group is signalled only while one of our children is unreaped (alive or a
        zombie), so its id cannot belong to anyone else yet.
        """
        if self._pgid is None or not self._unreaped():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._pgid, signal.SIGTERM)
        deadline = time.monotonic() + (self.grace_s if grace_s is None else grace_s)
        while time.monotonic() < deadline and self._unreaped():
            time.sleep(_POLL_S)
        if self._unreaped():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pgid, signal.SIGKILL)
        for child in self.children:
            child.process.wait()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt, so `finally` clauses and
    `ProcessGroup.stop` run as on Ctrl-C. Outside the main thread (where Python cannot set
    signal handlers) it does nothing. The previous handler is restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
