"""The stream hub's state, without I/O: latest snapshot per target, merges, SLA status, ticks.

Feed it what the network brought and ask it what to send:

    state = HubState(["http://127.0.0.1:8101"], sla)
    state.observe(url, body, now_s)        # a /live/snapshot body (bytes) arrived
    state.fail(url, "timeout")             # or the target did not answer
    state.observe_alerts(body, now_s)      # the receiver's GET /alerts (when one is given)
    state.fail_alerts("HTTP 503")          # or the receiver did not answer
    tick = state.tick(now_s)               # the message of this second (message.Tick)

Per service, the latest snapshots of its up targets are merged exactly with
`collector.snapshot.merge_snapshots` (counts add, sketches merge); the total merges every
service except the load generator's own view (its requests are the services' requests).
Objectives are judged over the last `window_s` distinct seconds of snapshots the hub has
seen: latency from the merged 60 s sketch, error rate, availability and throughput from the
per-second counts. Cost: O(targets x sketch bins) per tick, independent of subscribers.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from collector.conventions import LIVE_SNAPSHOT_PATH
from collector.quantiles import QuantileSketch
from collector.sla import OBJECTIVE_KEYS, SLA, Objectives
from collector.snapshot import Snapshot, SnapshotError, merge_snapshots
from collector.units import format_duration
from livehub.alerts import FiringAlert, parse_firing
from livehub.message import (
    AlertsView,
    Kpis,
    ObjectiveStatus,
    ServiceView,
    Status,
    TargetState,
    TargetView,
    Tick,
)

__all__ = ["CLIENT_SERVICES", "TOTAL", "HubState", "objective_statuses", "snapshot_url"]

CLIENT_SERVICES = frozenset({"loadtest"})
"""Services that report the load generator's side (`loadtests.live.LIVE_SERVICE`)."""

TOTAL = "total"
"""The name of the merge over every service."""


@dataclass(slots=True)
class _Target:
    url: str
    state: TargetState = TargetState.PENDING
    reason: str | None = None
    latest: Snapshot | None = None
    last_ok_s: float | None = None
    # (snapshot second, requests, errors) of the last distinct seconds seen, oldest first
    history: deque[tuple[float, int, int]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class _Window:
    seconds: int
    requests: int
    errors: int


def snapshot_url(target: str) -> str:
    """The /live/snapshot URL of a target given as a base URL (or as that URL itself)."""
    if not target.startswith(("http://", "https://")) or len(target.split("://", 1)[1]) == 0:
        raise ValueError(f"target: expected an http:// or https:// URL, got {target!r}")
    base = target.rstrip("/")
    return base if base.endswith(LIVE_SNAPSHOT_PATH) else base + LIVE_SNAPSHOT_PATH


class HubState:
    """Latest snapshot and recent per-second counts of every target; builds each tick."""

    def __init__(
        self,
        targets: Sequence[str],
        sla: SLA,
        *,
        window_s: int = 60,
        client_services: Iterable[str] = CLIENT_SERVICES,
        receiver: str | None = None,
    ) -> None:
        if not targets:
            raise ValueError("targets: expected at least one URL, got none")
        if len(set(targets)) != len(targets):
            raise ValueError(f"targets: expected distinct URLs, got {list(targets)!r}")
        if window_s < 1:
            raise ValueError(f"window_s: expected >= 1 second, got {window_s!r}")
        self.sla = sla
        self.window_s = window_s
        self.client_services = frozenset(client_services)
        self._targets = {url: _Target(url) for url in targets}
        self._sequence = 0
        self.receiver = receiver
        self._alerts: AlertsView | None = (
            None if receiver is None else AlertsView(receiver, TargetState.PENDING, None, None, ())
        )

    @property
    def targets(self) -> tuple[str, ...]:
        """The polled URLs, in the order given."""
        return tuple(self._targets)

    def observe(self, url: str, body: bytes, now_s: float) -> Snapshot | None:
        """Record a /live/snapshot body from `url`; a malformed one marks the target down."""
        target = self._target(url)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            snapshot = Snapshot.from_dict(data)
        except SnapshotError as exc:
            self.fail(url, str(exc))
            return None
        except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError included
            self.fail(url, f"not a snapshot ({exc})")
            return None
        target.state, target.reason, target.latest, target.last_ok_s = (
            TargetState.UP,
            None,
            snapshot,
            now_s,
        )
        history = target.history
        if not history or snapshot.timestamp_s > history[-1][0]:
            history.append((snapshot.timestamp_s, snapshot.requests, snapshot.errors))
            while len(history) > self.window_s:
                history.popleft()
        return snapshot

    def fail(self, url: str, reason: str) -> None:
        """Mark `url` down (it did not answer, or not with a snapshot); `reason` is shown."""
        target = self._target(url)
        target.state, target.reason = TargetState.DOWN, reason

    def observe_alerts(self, body: bytes, now_s: float) -> tuple[FiringAlert, ...] | None:
        """Record the receiver's GET /alerts body; one that is not an answer marks it down."""
        current = self._receiver_view()
        try:
            firing = parse_firing(body)
        except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError included
            self.fail_alerts(f"not an alert list ({exc})")
            return None
        self._alerts = AlertsView(current.url, TargetState.UP, None, now_s, firing)
        return firing

    def fail_alerts(self, reason: str) -> None:
        """Mark the receiver down; its last known firing alerts stay, with their age."""
        current = self._receiver_view()
        self._alerts = AlertsView(
            current.url, TargetState.DOWN, reason, current.last_ok_s, current.firing
        )

    def _receiver_view(self) -> AlertsView:
        if self._alerts is None:
            raise KeyError("this hub has no receiver (HubState(..., receiver=URL))")
        return self._alerts

    def tick(self, now_s: float) -> Tick:
        """The message for the second ending at `now_s` (Unix seconds)."""
        self._sequence += 1
        by_service: dict[str, list[_Target]] = {}
        for target in self._targets.values():
            if target.latest is not None:
                by_service.setdefault(target.latest.service, []).append(target)
        services = tuple(
            self._view(name, members, self.sla.objectives_for(name))
            for name, members in sorted(by_service.items())
        )
        servers = [
            t for name, ts in by_service.items() if name not in self.client_services for t in ts
        ]
        total = self._view(TOTAL, servers, self.sla.objectives) if servers else None
        return Tick(
            timestamp_s=now_s,
            sequence=self._sequence,
            sla_source=self.sla.source,
            services=services,
            total=total,
            targets=self.target_views(),
            alerts=self._alerts,
        )

    def target_views(self) -> tuple[TargetView, ...]:
        """Every target's state, in the order given."""
        return tuple(
            TargetView(
                url=t.url,
                service=None if t.latest is None else t.latest.service,
                state=t.state,
                reason=t.reason,
                last_ok_s=t.last_ok_s,
            )
            for t in self._targets.values()
        )

    def _target(self, url: str) -> _Target:
        try:
            return self._targets[url]
        except KeyError:
            raise KeyError(f"{url!r} is not a target of this hub ({list(self._targets)})") from None

    def _view(self, name: str, members: list[_Target], objectives: Objectives) -> ServiceView:
        up = [t.latest for t in members if t.state is TargetState.UP and t.latest is not None]
        merged = merge_snapshots(up, name) if up else None
        window = _window([t for t in members if t.state is TargetState.UP], self.window_s)
        statuses = objective_statuses(
            objectives,
            None if merged is None else merged.latency_60s,
            window.seconds,
            window.requests,
            window.errors,
        )
        judged = {s.objective for s in statuses}
        return ServiceView(
            name=name,
            client=name in self.client_services,
            targets_up=len(up),
            targets=len(members),
            kpis=None if merged is None else Kpis.of(merged),
            objectives=statuses,
            not_judged=tuple(key for key in OBJECTIVE_KEYS if key not in judged),
        )


def _window(targets: Sequence[_Target], window_s: int) -> _Window:
    """Requests and errors over the last `window_s` distinct snapshot seconds of `targets`."""
    seconds: set[float] = set()
    requests = errors = 0
    newest = max((t.history[-1][0] for t in targets if t.history), default=None)
    if newest is None:
        return _Window(0, 0, 0)
    for target in targets:
        for second, count, failed in target.history:
            if second > newest - window_s:
                seconds.add(second)
                requests += count
                errors += failed
    return _Window(len(seconds), requests, errors)


def objective_statuses(
    objectives: Objectives,
    latency_60s: QuantileSketch | None,
    seconds: int,
    requests: int,
    errors: int,
) -> tuple[ObjectiveStatus, ...]:
    """Judge the stated live objectives; a None objective is not judged (left out).

    Without data (no target up, no request in the window) a stated objective is NO_DATA.
    Latency: the objective's percentile of the merged 60 s sketch < threshold. Error rate:
    errors / requests < limit; availability: 1 - that >= target; throughput: requests /
    seconds >= the rate. All over `seconds` distinct seconds holding `requests` requests.
    """
    found: list[ObjectiveStatus] = []
    if objectives.latency is not None:
        latency = objectives.latency
        observed = (
            latency_60s.quantile(latency.percentile) * 1000.0
            if latency_60s is not None and latency_60s.count
            else None
        )
        threshold = latency.threshold_s * 1000.0
        found.append(
            _status(
                "latency",
                f"{latency.label} < {format_duration(latency.threshold_s)}",
                60,
                observed,
                threshold,
                "ms",
                None if observed is None else observed < threshold,
            )
        )
    ratio = errors / requests if requests else None
    if objectives.error_rate is not None:
        limit = objectives.error_rate
        met = None if ratio is None else ratio < limit
        found.append(
            _status("error_rate", f"< {limit * 100:g}%", seconds, ratio, limit, "ratio", met)
        )
    if objectives.availability is not None:
        target = objectives.availability.target
        good = None if ratio is None else 1.0 - ratio
        met = None if good is None else good >= target
        found.append(
            _status("availability", f">= {target * 100:g}%", seconds, good, target, "ratio", met)
        )
    if objectives.throughput_rps is not None:
        rate = objectives.throughput_rps
        rps = requests / seconds if seconds and requests else None
        met = None if rps is None else rps >= rate
        found.append(_status("throughput", f">= {rate:g} req/s", seconds, rps, rate, "req/s", met))
    return tuple(found)


def _status(
    objective: str,
    statement: str,
    window_s: int,
    observed: float | None,
    threshold: float,
    unit: str,
    met: bool | None,
) -> ObjectiveStatus:
    status = Status.NO_DATA if met is None else (Status.MET if met else Status.MISSED)
    return ObjectiveStatus(objective, statement, window_s, observed, threshold, unit, status)
