"""A real Prometheus for benchmarks: scrapes one target every second, on 127.0.0.1.

    with scraping_prometheus("127.0.0.1:8101", folder) as url: ...

Yields None when the `prometheus` binary is not installed (Debian package `prometheus`),
so a benchmark can report the client side alone and say why.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.ports import free_port

__all__ = ["scraping_prometheus"]

_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: target
    static_configs:
      - targets: ["{target}"]
"""


@contextmanager
def scraping_prometheus(target: str, folder: Path, timeout_s: float = 30.0) -> Iterator[str | None]:
    """Prometheus scraping `target` (host:port) once it reports the target up; its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        yield None
        return
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(_CONFIG.replace("{target}", target))
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _target_up(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"Prometheus did not scrape {target} within {timeout_s} s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _target_up(url: str) -> bool:
    try:
        body = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(series["value"][1] == "1" for series in body["data"]["result"])
