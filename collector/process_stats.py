"""CPU and memory of this process (I/O edge: reads the operating system via psutil)."""

from __future__ import annotations

from dataclasses import dataclass

import psutil

__all__ = ["ProcessSample", "ProcessSampler"]


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """CPU use since the previous sample (100 = one core busy) and resident memory (bytes)."""

    cpu_percent: float
    rss_bytes: int


class ProcessSampler:
    """Samples this process; `sample(now_s)` needs the wall-clock time of the call."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._last_cpu_s: float | None = None
        self._last_now_s = 0.0

    def sample(self, now_s: float) -> ProcessSample:
        """CPU % over the interval since the previous call (0 on the first), current RSS."""
        times = self._process.cpu_times()
        cpu_s = times.user + times.system
        cpu_percent = 0.0
        if self._last_cpu_s is not None and now_s > self._last_now_s:
            cpu_percent = 100.0 * (cpu_s - self._last_cpu_s) / (now_s - self._last_now_s)
        self._last_cpu_s, self._last_now_s = cpu_s, now_s
        return ProcessSample(
            cpu_percent=max(cpu_percent, 0.0), rss_bytes=self._process.memory_info().rss
        )
