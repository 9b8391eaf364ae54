"""A real Prometheus for benchmarks: scrapes one target every second, on 127.0.0.1.

    with scraping_prometheus("127.0.0.1:8101", folder) as url: ...

Yields None when the `prometheus` binary is not installed (Debian package `prometheus`),
so a benchmark can report the client side alone and say why.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from runtime.ports import free_port
from runtime.processes import Output, ProcessGroup

__all__ = ["scraping_prometheus"]

_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: target
    static_configs:
      - targets: [{targets}]
"""


@contextmanager
def scraping_prometheus(
    target: str,
    folder: Path,
    timeout_s: float = 30.0,
    *,
    more_targets: Sequence[str] = (),
    native_histograms: bool = False,
) -> Iterator[str | None]:
    """Prometheus scraping `target` (host:port) once it reports the target up; its URL.

    `more_targets` are scraped too (each its own `instance`); `native_histograms` turns on
    the feature that makes Prometheus ask for protobuf and ingest native histograms.

    Raises runtime.processes.ChildError (a RuntimeError) when Prometheus exits or does not
    report the target up within `timeout_s` seconds; stops it on the way out.
    """
    binary = shutil.which("prometheus")
    if binary is None:
        yield None
        return
    port = free_port()
    config = folder / "prometheus.yml"
    everything = ", ".join(f'"{t}"' for t in (target, *more_targets))
    config.write_text(_CONFIG.replace("{targets}", everything))
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    if native_histograms:
        command.append("--enable-feature=native-histograms")
    url = f"http://127.0.0.1:{port}"
    with ProcessGroup(grace_s=30.0) as group:
        prometheus = group.start(f"prometheus scraping {target}", command, output=Output.DISCARD)
        group.wait_ready(prometheus, timeout_s, ready=lambda: _target_up(url))
        yield url


def _target_up(url: str) -> bool:
    try:
        body = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(series["value"][1] == "1" for series in body["data"]["result"])
