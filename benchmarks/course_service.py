"""`loadwatch serve course` as a child process for benchmarks, stopped when the block ends.

    with course_service(database_url, log_dir) as base_url: ...

The service runs in a `runtime.processes.ProcessGroup`: it is healthy when the block
starts, and stopped (SIGTERM, SIGKILL after 30 s) whichever way the block ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.ports import free_port
from runtime.processes import Output, ProcessGroup, python_command

__all__ = ["course_service"]


@contextmanager
def course_service(database_url: str, log_dir: Path, timeout_s: float = 60.0) -> Iterator[str]:
    """The course service on a free 127.0.0.1 port, on `database_url`; its base URL.

    Its output goes to `log_dir`/course.log; raises runtime.processes.ChildError (with the
    log's last lines) when it exits or is not healthy within `timeout_s` seconds.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = python_command(
        "loadwatch", "serve", "course", "--port", str(port), "--database-url", database_url
    )
    with ProcessGroup(log_dir, grace_s=30.0) as group:
        service = group.start("course", command, url=url, output=Output.LOG)
        group.wait_ready(service, timeout_s)
        yield url
