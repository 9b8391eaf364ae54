"""What every load-generating process records: the `RunPlan` the master sends its workers,
and `RequestRecorder`, which turns Locust's request events (and the open loop's missed starts,
the in-flight count and the generator's own samples) into a `RunRecorder`. Runs inside the
Locust process (`loadtests.process`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import gevent

from collector.process_stats import ProcessSampler
from loadtests.openmodel import INTENDED_ATTR
from loadtests.outcomes import classify
from loadtests.saturation import LAG_PROBE_S, GeneratorSample
from loadtests.stats import RunRecorder

__all__ = ["RequestRecorder", "RunPlan"]


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What every load-generating process must agree on; the master sends it to workers.

    `started_at_s` is wall-clock (time.time()) seconds; `rate_per_process` req/s is None in
    the closed model (the peak with open-model `stages`, which every process follows).
    """

    started_at_s: float
    window_s: float
    slow_s: float
    rate_per_process: float | None
    pool_size: int
    settings: Mapping[str, Any]
    stages: str | None = None

    def recorder(self) -> RunRecorder:
        return RunRecorder(
            started_at_s=self.started_at_s, window_s=self.window_s, slow_s=self.slow_s
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "settings": dict(self.settings)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunPlan:
        return cls(**data)


class RequestRecorder:
    """Feeds Locust `request` events into a RunRecorder; also the open loop's sink.

    Register `on_request` on `environment.events.request`. Latency is Locust's response_time,
    or, when the request's greenlet carries an intended start (open model), the time since
    that start, with Locust's figure as the raw latency. Each request's outcome and reason come
    from its status and exception (`loadtests.outcomes.classify`: 5xx and no answer are SLA
    errors, unexpected 4xx scenario failures, 429 no latency sample). Costs a few
    microseconds a request.
    After `close()` (the run has ended; Locust is stopping users) requests are only counted
    in `late`.
    """

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder
        self.closed = False
        self.late = 0
        self.total = 0
        self.busy = 0
        self.peak = 0

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        exception: BaseException | None = None,
        response: Any = None,
        **_: Any,
    ) -> None:
        if self.closed:
            self.late += 1
            return
        now_s = time.time()
        raw_s = max(0.0, (response_time or 0.0) / 1000.0)
        intended_s = getattr(gevent.getcurrent(), INTENDED_ATTR, None)
        endpoint = f"{request_type} {name}"
        status = getattr(response, "status_code", None)
        outcome, reason, limited = classify(status if isinstance(status, int) else None, exception)
        if intended_s is None:
            self.recorder.record(
                endpoint, raw_s, outcome, now_s, reason=reason, rate_limited=limited
            )
        else:
            since_s = max(raw_s, time.perf_counter() - intended_s)
            self.recorder.record(
                endpoint,
                since_s,
                outcome,
                now_s,
                raw_latency_s=raw_s,
                reason=reason,
                rate_limited=limited,
            )
        self.total += 1

    def sample_generator(self, process: str, sampler: ProcessSampler) -> None:
        """Sample this process once a second until killed: its CPU share (`sampler`) and its
        loop lag, how late each LAG_PROBE_S gevent timer of that second fired, into the
        current recorder. Run it in its own greenlet; costs ten timer wake-ups a second."""
        sampler.sample(time.time())
        lags: list[float] = []
        next_s = time.time() + 1.0
        while True:
            before = time.perf_counter()
            gevent.sleep(LAG_PROBE_S)
            lags.append(max(0.0, time.perf_counter() - before - LAG_PROBE_S))
            now_s = time.time()
            if now_s < next_s:
                continue
            cpu = sampler.sample(now_s).cpu_percent
            if not self.closed:
                sample = GeneratorSample(process, now_s, cpu, tuple(lags))
                self.recorder.record_generator(sample)
            lags, next_s = [], now_s + 1.0

    def close(self, **_: Any) -> None:
        """Stop recording: a `test_stopping` listener."""
        self.closed = True

    def missed(self, now_s: float, count: int) -> None:
        self.recorder.record_missed(now_s, count)

    def in_flight(self, busy: int) -> None:
        self.busy = busy
        self.peak = max(self.peak, busy)

    def take_peak(self) -> int:
        """Most requests in flight since the last call."""
        peak, self.peak = self.peak, self.busy
        return peak

    def take(self) -> RunRecorder:
        """Hand over what was recorded so far and continue in a fresh recorder."""
        old = self.recorder
        self.recorder = RunRecorder(
            started_at_s=old.started_at_s,
            window_s=old.window_s,
            slow_s=old.slow_s,
            relative_accuracy=old.accuracy,
        )
        return old
