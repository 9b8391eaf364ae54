"""Client-side statistics of a load-test run: every request into quantile sketches.

`RunRecorder.record(...)` puts each request's latency into three sketches (the whole run,
its endpoint, its time window): exact counts and 1 % quantiles, instead of Locust's
two-significant-digit buckets. Recorders of several workers merge exactly
(`to_dict` -> `from_dict` -> `merge`). `summarize()` turns a recorder into the frozen
`RunStats` that the gate and the reports read. Pure: times are passed in (seconds).

Every request has an `Outcome` (docs/errors.md): served as expected; an answer the scenario
accepts on purpose (409, 202, 429 ...); an SLA error (a 5xx or no answer); or a scenario
failure (a 4xx or a failed check the scenario did not expect). All but the first are counted
by (outcome, route, reason), at most MAX_REASONS distinct reason texts per recorder, then
OTHER_REASON. Rate-limited answers (429) are counted, never a latency sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.quantiles import QuantileSketch
from loadtests.outcomes import MAX_REASONS, OTHER_REASON, Outcome, ReasonCount
from loadtests.saturation import GeneratorLoad, GeneratorSample, WindowLoad, window_loads
from loadtests.series import Series

__all__ = [
    "MAX_REASONS",
    "OTHER_REASON",
    "EndpointStats",
    "LatencyStats",
    "Outcome",
    "ReasonCount",
    "RunRecorder",
    "RunStats",
    "WindowStats",
    "steady_part",
    "summarize",
]

_SERVED = Outcome.SERVED
"""Module-level alias: an enum member read through its class costs a lookup per request."""


class RunRecorder:
    """Records one run (or one worker's share of it). Not thread-safe; cost ~1.5 us/request.

    `latency_s` is what the gate judges: in open-model runs it is measured from the
    request's intended start (coordinated omission corrected); `raw_latency_s` is then
    measured from the actual send. Closed-model runs pass only `latency_s`.

    `reasons` maps (outcome, endpoint, reason) to a count for every request that was not
    simply served; at most MAX_REASONS distinct reason texts, then OTHER_REASON.
    """

    def __init__(
        self,
        *,
        started_at_s: float,
        window_s: float = 10.0,
        slow_s: float = 1.0,
        relative_accuracy: float = 0.01,
    ) -> None:
        if not window_s > 0 or not slow_s > 0:
            raise ValueError(f"window_s and slow_s: expected > 0, got {window_s}, {slow_s}")
        self.started_at_s = started_at_s
        self.window_s = window_s
        self.slow_s = slow_s
        self.accuracy = relative_accuracy
        self.overall = Series(relative_accuracy)
        self.endpoints: dict[str, Series] = {}
        self.windows: dict[int, Series] = {}
        self.window_endpoints: dict[tuple[int, str], QuantileSketch] = {}
        """Latency per (window, endpoint): the gate judges a route over some windows only."""
        self.users: dict[int, int] = {}
        self.targets: dict[int, tuple[float, int]] = {}
        self.reasons: dict[tuple[Outcome, str, str], int] = {}
        self._reason_texts: set[str] = set()
        self.missed_starts = 0
        self.generator = GeneratorLoad()
        self.last_at_s = started_at_s

    def _window(self, now_s: float) -> int:
        return max(0, int((now_s - self.started_at_s) // self.window_s))

    def record(
        self,
        endpoint: str,
        latency_s: float,
        outcome: Outcome,
        now_s: float,
        raw_latency_s: float | None = None,
        *,
        reason: str = "",
        rate_limited: bool = False,
    ) -> None:
        """One completed request named by route template (`GET /courses/{course_id}`).

        `reason` ("HTTP 503 Service Unavailable", "ConnectionRefusedError") is counted for
        every outcome but SERVED (an empty one as the outcome's name); a `rate_limited`
        request (a 429) is counted but is not a latency sample."""
        if not (latency_s >= 0.0 and math.isfinite(latency_s)):
            raise ValueError(f"latency_s: expected a finite value >= 0, got {latency_s!r}")
        slow = not rate_limited and latency_s > self.slow_s
        series = self.endpoints.get(endpoint)
        if series is None:
            series = self.endpoints[endpoint] = Series(self.accuracy)
        index = self._window(now_s)
        window = self.windows.get(index)
        if window is None:
            window = self.windows[index] = Series(self.accuracy)
        if not rate_limited:
            sketch = self.window_endpoints.get((index, endpoint))
            if sketch is None:
                sketch = self.window_endpoints[index, endpoint] = QuantileSketch(self.accuracy)
            sketch.add(latency_s)
        if outcome is _SERVED and not rate_limited:
            self.overall.add_sample(latency_s, slow, raw_latency_s)
            series.add_sample(latency_s, slow, raw_latency_s)
            window.add_sample(latency_s, slow, raw_latency_s)
        else:
            self.overall.add(latency_s, outcome, slow, raw_latency_s, rate_limited)
            series.add(latency_s, outcome, slow, raw_latency_s, rate_limited)
            window.add(latency_s, outcome, slow, raw_latency_s, rate_limited)
            if outcome is not _SERVED:
                self._count_reason(outcome, endpoint, reason or outcome.value, 1)
        if now_s > self.last_at_s:
            self.last_at_s = now_s

    def _count_reason(self, outcome: Outcome, endpoint: str, reason: str, count: int) -> None:
        if reason not in self._reason_texts:
            if len(self._reason_texts) >= MAX_REASONS:
                reason = OTHER_REASON
            self._reason_texts.add(reason)
        key = (outcome, endpoint, reason)
        self.reasons[key] = self.reasons.get(key, 0) + count

    def record_missed(self, now_s: float, count: int = 1) -> None:
        """Open model: `count` requests could not start on schedule (generator saturated)."""
        self.missed_starts += count
        self.generator.add_missed(self._window(now_s), count)
        if now_s > self.last_at_s:
            self.last_at_s = now_s

    def record_generator(self, sample: GeneratorSample) -> None:
        """One second of a generator process's own CPU share and loop lag (`saturation`)."""
        self.generator.add(sample, self._window(sample.at_s))

    def record_users(self, users: int, now_s: float) -> None:
        """The number of users (closed model) or concurrent requests (open) at `now_s`."""
        index = self._window(now_s)
        self.users[index] = max(users, self.users.get(index, 0))

    def record_target(self, target: float, now_s: float) -> None:
        """A load shape's target (users or req/s) sampled at `now_s`; a window's is the mean."""
        total, count = self.targets.get(self._window(now_s), (0.0, 0))
        self.targets[self._window(now_s)] = (total + target, count + 1)

    def merge(self, other: RunRecorder) -> None:
        """Add another worker's recorder (same window and accuracy) into this one."""
        if other.window_s != self.window_s or other.accuracy != self.accuracy:
            raise ValueError("cannot merge recorders with different window_s or accuracy")
        offset = other.started_at_s - self.started_at_s
        self.overall.merge(other.overall)
        for name, series in other.endpoints.items():
            self.endpoints.setdefault(name, Series(self.accuracy)).merge(series)
        for index, series in other.windows.items():
            shifted = max(0, index + round(offset / self.window_s))
            self.windows.setdefault(shifted, Series(self.accuracy)).merge(series)
        for (index, name), sketch in other.window_endpoints.items():
            key = (max(0, index + round(offset / self.window_s)), name)
            self.window_endpoints.setdefault(key, QuantileSketch(self.accuracy)).merge(sketch)
        for index, users in other.users.items():
            shifted = max(0, index + round(offset / self.window_s))
            self.users[shifted] = self.users.get(shifted, 0) + users
        for index, (total, count) in other.targets.items():
            shifted = max(0, index + round(offset / self.window_s))
            mine = self.targets.get(shifted, (0.0, 0))
            self.targets[shifted] = (mine[0] + total, mine[1] + count)
        for (outcome, endpoint, reason), count in other.reasons.items():
            self._count_reason(outcome, endpoint, reason, count)
        self.missed_starts += other.missed_starts
        self.generator.merge(other.generator, round(offset / self.window_s))
        self.last_at_s = max(self.last_at_s, other.last_at_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the trip from a worker to the master."""
        return {
            "started_at_s": self.started_at_s,
            "window_s": self.window_s,
            "slow_s": self.slow_s,
            "relative_accuracy": self.accuracy,
            "overall": self.overall.to_dict(),
            "endpoints": {name: s.to_dict() for name, s in self.endpoints.items()},
            "windows": {str(i): s.to_dict() for i, s in self.windows.items()},
            "window_endpoints": [
                [i, e, s.to_dict()] for (i, e), s in self.window_endpoints.items()
            ],
            "users": {str(i): n for i, n in self.users.items()},
            "targets": {str(i): list(t) for i, t in self.targets.items()},
            "reasons": [[o.value, e, r, n] for (o, e, r), n in self.reasons.items()],
            "missed_starts": self.missed_starts,
            "generator": self.generator.to_dict(),
            "last_at_s": self.last_at_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecorder:
        """Inverse of `to_dict`; KeyError/ValueError on a malformed payload."""
        accuracy = float(data["relative_accuracy"])
        recorder = cls(
            started_at_s=float(data["started_at_s"]),
            window_s=float(data["window_s"]),
            slow_s=float(data["slow_s"]),
            relative_accuracy=accuracy,
        )
        recorder.overall = Series.from_dict(data["overall"], accuracy)
        recorder.endpoints = {
            name: Series.from_dict(s, accuracy) for name, s in data["endpoints"].items()
        }
        recorder.windows = {
            int(i): Series.from_dict(s, accuracy) for i, s in data["windows"].items()
        }
        recorder.users = {int(i): int(n) for i, n in data["users"].items()}
        recorder.window_endpoints = {
            (int(i), str(e)): QuantileSketch.from_dict(s)
            for i, e, s in data.get("window_endpoints", ())
        }
        recorder.targets = {
            int(i): (float(t), int(n)) for i, (t, n) in data.get("targets", {}).items()
        }
        for outcome, endpoint, reason, count in data.get("reasons", ()):
            recorder._count_reason(Outcome(outcome), str(endpoint), str(reason), int(count))
        recorder.missed_starts = int(data["missed_starts"])
        if "generator" in data:
            recorder.generator = GeneratorLoad.from_dict(data["generator"])
        recorder.last_at_s = float(data["last_at_s"])
        return recorder


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Percentiles in milliseconds (None without samples); within the sketch's 1 %."""

    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, sketch: QuantileSketch, max_s: float | None = None) -> LatencyStats:
        if sketch.count == 0:
            return cls(None, None, None, None, None, None)
        p50, p90, p95, p99, p999 = (
            sketch.quantile(q) * 1000.0 for q in (0.5, 0.9, 0.95, 0.99, 0.999)
        )
        top = max_s * 1000.0 if max_s is not None else sketch.quantile(1.0) * 1000.0
        return cls(p50, p90, p95, p99, p999, top)

    def quantile_ms(self, percentile: float) -> float | None:
        """The stored percentile closest to `percentile` (0.95 -> p95_ms)."""
        table = {
            0.5: self.p50_ms,
            0.9: self.p90_ms,
            0.95: self.p95_ms,
            0.99: self.p99_ms,
            0.999: self.p999_ms,
        }
        return table.get(round(percentile, 3))

    def to_dict(self) -> dict[str, float | None]:
        return {
            "p50": self.p50_ms,
            "p90": self.p90_ms,
            "p95": self.p95_ms,
            "p99": self.p99_ms,
            "p999": self.p999_ms,
            "max": self.max_ms,
        }


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """One endpoint (`GET /courses/{course_id}`) over the whole run."""

    name: str
    requests: int
    failures: int
    slow: int
    rps: float
    latency: LatencyStats
    sketch: QuantileSketch
    unexpected: int = 0
    accepted: int = 0
    rate_limited: int = 0

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class WindowStats:
    """One fixed window of the run: [start_s, start_s + length_s) after the start; `target`
    the load shape's mean target in it (users, or req/s in the open model; None: no shape)."""

    index: int
    start_s: float
    length_s: float
    requests: int
    failures: int
    users: int
    latency: LatencyStats
    sketch: QuantileSketch
    slow: int = 0
    endpoints: Mapping[str, QuantileSketch] = field(default_factory=dict)
    """Each endpoint's latency sketch in this window (requests that are latency samples)."""
    target: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.length_s

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class RunStats:
    """Everything the gate and the reports need about one run.

    `failures` are SLA errors (5xx, no answer); `unexpected` scenario failures (4xx the
    scenario did not expect); `rate_limited` 429 answers (not in the latency figures);
    `reasons` every request that was not simply served, most frequent first; `generator`
    the generator processes' own load per (window, process), `generator_latest` each
    process's latest second (`loadtests.saturation`)."""

    started_at_s: float
    duration_s: float
    requests: int
    failures: int
    slow: int
    missed_starts: int
    latency: LatencyStats
    latency_raw: LatencyStats | None
    sketch: QuantileSketch
    endpoints: Mapping[str, EndpointStats]
    windows: tuple[WindowStats, ...] = field(default=())
    window_s: float = 10.0
    slow_s: float = 1.0
    unexpected: int = 0
    accepted: int = 0
    rate_limited: int = 0
    reasons: tuple[ReasonCount, ...] = ()
    generator: tuple[WindowLoad, ...] = ()
    generator_latest: tuple[GeneratorSample, ...] = ()

    def failures_by_reason(self) -> tuple[ReasonCount, ...]:
        """SLA errors and scenario failures by (route, reason), most frequent first; their
        counts add up to `failures + unexpected`."""
        failed = (Outcome.ERROR, Outcome.UNEXPECTED)
        return tuple(r for r in self.reasons if r.outcome in failed)

    def accepted_by_reason(self) -> tuple[ReasonCount, ...]:
        """Answers the scenario accepts on purpose, by (route, reason), most frequent first."""
        return tuple(r for r in self.reasons if r.outcome is Outcome.ACCEPTED)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def slow_ratio(self) -> float:
        return self.slow / self.requests if self.requests else 0.0


def summarize(recorder: RunRecorder, *, duration_s: float) -> RunStats:
    """Freeze a recorder into RunStats for a run of `duration_s` seconds."""
    overall = recorder.overall
    length = recorder.window_s
    last_index = max([*recorder.windows, *recorder.users, *recorder.targets], default=-1)
    by_window: dict[int, dict[str, QuantileSketch]] = {}
    for (index, name), sketch in sorted(recorder.window_endpoints.items()):
        by_window.setdefault(index, {})[name] = sketch
    windows = tuple(
        WindowStats(
            index=i,
            start_s=i * length,
            # A window past the planned end (late completions) is at least 1 s long, so its
            # rate stays a rate rather than requests / 1e-9.
            length_s=min(length, max(duration_s - i * length, min(length, 1.0))),
            requests=recorder.windows[i].requests if i in recorder.windows else 0,
            failures=recorder.windows[i].failures if i in recorder.windows else 0,
            users=recorder.users.get(i, 0),
            latency=LatencyStats.of(recorder.windows[i].latency, recorder.windows[i].max_s)
            if i in recorder.windows
            else LatencyStats.of(QuantileSketch(recorder.accuracy)),
            sketch=recorder.windows[i].latency
            if i in recorder.windows
            else QuantileSketch(recorder.accuracy),
            slow=recorder.windows[i].slow if i in recorder.windows else 0,
            endpoints=by_window.get(i, {}),
            target=recorder.targets[i][0] / recorder.targets[i][1]
            if i in recorder.targets
            else None,
        )
        for i in range(last_index + 1)
    )
    endpoints = {
        name: EndpointStats(
            name=name,
            requests=s.requests,
            failures=s.failures,
            slow=s.slow,
            rps=s.requests / duration_s if duration_s > 0 else 0.0,
            latency=LatencyStats.of(s.latency, s.max_s),
            sketch=s.latency,
            unexpected=s.unexpected,
            accepted=s.accepted,
            rate_limited=s.rate_limited,
        )
        for name, s in sorted(recorder.endpoints.items())
    }
    reasons = tuple(
        ReasonCount(outcome, route, reason, count)
        for (outcome, route, reason), count in sorted(
            recorder.reasons.items(), key=lambda item: (-item[1], item[0][1], item[0][2])
        )
    )
    return RunStats(
        started_at_s=recorder.started_at_s,
        duration_s=duration_s,
        requests=overall.requests,
        failures=overall.failures,
        slow=overall.slow,
        missed_starts=recorder.missed_starts,
        latency=LatencyStats.of(overall.latency, overall.max_s),
        latency_raw=LatencyStats.of(overall.raw) if overall.raw.count else None,
        sketch=overall.latency,
        endpoints=endpoints,
        windows=windows,
        window_s=recorder.window_s,
        slow_s=recorder.slow_s,
        unexpected=overall.unexpected,
        accepted=overall.accepted,
        rate_limited=overall.rate_limited,
        reasons=reasons,
        generator=window_loads(recorder.generator),
        generator_latest=tuple(sample for _, sample in sorted(recorder.generator.latest.items())),
    )


def steady_part(stats: RunStats, ramp_up_s: float | None) -> tuple[float, QuantileSketch]:
    """(start in seconds after the run's start, latency sketch) of the run after `ramp_up_s`:
    the windows that start at or after it. The whole run when there is no ramp-up or no
    such window. Client and server p95 are compared over this part: a ramp's connection
    set-up and user start-up show in the client's latency, never in a server histogram."""
    if ramp_up_s:
        steady = [w for w in stats.windows if w.start_s >= ramp_up_s and w.requests > 0]
        if steady:
            sketch = QuantileSketch(stats.sketch.relative_accuracy)
            for window in steady:
                sketch.merge(window.sketch)
            return steady[0].start_s, sketch
    return 0.0, stats.sketch
