"""The service-level objectives of sla.yaml as a typed, frozen model.

`parse_sla(text, source)` is pure; `load_sla(path)` and `resolve_sla(...)` read files.
Every error is an `SLAError` naming the file, the field path and the bad value, e.g.
``sla.yaml: objectives.latency.threshold: expected a duration like '200ms', '1s' or '30d',
got 'fast'``.

Every objective is optional, as in real SLO documents: an objective that is absent (or set
to ``null`` in an override) is not judged, gets no rule and no panel. A file that states no
objective at all is an error.

Overrides: ``services.<name>.objectives`` replaces any subset of the objectives for one
service, ``services.<name>.routes.<route template>`` any subset for one route of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml

from collector.units import (
    UnitError,
    format_duration,
    parse_duration,
    parse_percent,
    parse_rate,
)

__all__ = [
    "DEFAULT_SLA_YAML",
    "OBJECTIVE_KEYS",
    "SLA",
    "SLA_FILENAME",
    "AvailabilityObjective",
    "LatencyObjective",
    "Objectives",
    "SLAError",
    "ServiceObjectives",
    "default_sla",
    "find_sla",
    "load_sla",
    "parse_sla",
    "resolve_sla",
]

SLA_FILENAME = "sla.yaml"
DEFAULT_SLOW_REQUEST_S = 1.0
"""Where a load test counts a request as slow when no slow_request objective is stated."""
DEFAULT_PERCENTILE = 0.95
"""The percentile shown (progress line, server comparison) when no latency objective is set."""
DEFAULT_AVAILABILITY_WINDOW = "30d"
"""The rolling window of ``availability: 99.9%`` written without one."""

DEFAULT_SLA_YAML = """\
# loadwatch service-level objectives. Every rule, dashboard and load-test gate comes from here.
version: 1
objectives:
  latency:
    percentile: p95        # the 95th percentile of request latency ...
    threshold: 200ms       # ... stays below 200 ms
  slow_request: 1s         # a single request slower than this is "slow"
  error_rate: 1%           # 5xx responses and unhandled exceptions, of all requests
  availability:
    target: 99.9%          # good (non-5xx) requests, of all requests ...
    window: 30d            # ... over a rolling 30-day window
  throughput: 1000/s       # the service must sustain at least this request rate
  concurrent_users: 10000  # with this many users connected
services:
  course:
    routes:
      /ai/generate:
        latency:
          threshold: 1s    # batched model inference: slower by design
"""


class SLAError(ValueError):
    """sla.yaml is missing, unreadable or invalid; the message names file, field and value."""

    def __init__(self, source: str, path: str, message: str) -> None:
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")
        self.source = source
        self.path = path


@dataclass(frozen=True, slots=True)
class LatencyObjective:
    """`percentile` (0.95 for p95) of request latency must stay below `threshold_s` seconds."""

    percentile: float
    threshold_s: float

    @property
    def label(self) -> str:
        """'p95', 'p99.9'."""
        return f"p{self.percentile * 100:g}"


@dataclass(frozen=True, slots=True)
class AvailabilityObjective:
    """Fraction `target` (0.999) of requests succeed over a rolling `window_s` seconds."""

    target: float
    window_s: float

    @property
    def error_budget(self) -> float:
        """The fraction of requests allowed to fail over the window (0.001 for 99.9 %)."""
        return 1.0 - self.target


@dataclass(frozen=True, slots=True)
class Objectives:
    """The objectives of the defaults, a service or a route; None: not stated, not judged."""

    latency: LatencyObjective | None = None
    slow_request_s: float | None = None
    error_rate: float | None = None
    availability: AvailabilityObjective | None = None
    throughput_rps: float | None = None
    concurrent_users: int | None = None

    def describe(self) -> list[tuple[str, str]]:
        """(objective, human statement) rows for the stated objectives, in a stable order."""
        rows: list[tuple[str, str]] = []
        if self.latency is not None:
            threshold = format_duration(self.latency.threshold_s)
            rows.append(("latency", f"{self.latency.label} < {threshold}"))
        if self.slow_request_s is not None:
            rows.append(("slow_request", f"> {format_duration(self.slow_request_s)} is slow"))
        if self.error_rate is not None:
            rows.append(("error_rate", f"< {_pct(self.error_rate)}"))
        if self.availability is not None:
            rows.append(
                (
                    "availability",
                    f">= {_pct(self.availability.target)} over "
                    f"{format_duration(self.availability.window_s)}",
                )
            )
        if self.throughput_rps is not None:
            rows.append(("throughput", f">= {self.throughput_rps:g} req/s"))
        if self.concurrent_users is not None:
            rows.append(("concurrent_users", f"{self.concurrent_users:,}"))
        return rows

    def not_stated(self) -> list[str]:
        """The objective keys of sla.yaml that are absent here (not judged), in file order."""
        stated = {key for key, _ in self.describe()}
        return [key for key in OBJECTIVE_KEYS if key not in stated]

    @property
    def counted_slow_s(self) -> float:
        """The slow_request threshold in seconds, or DEFAULT_SLOW_REQUEST_S when none is set."""
        return self.slow_request_s if self.slow_request_s is not None else DEFAULT_SLOW_REQUEST_S

    @property
    def display_percentile(self) -> float:
        """The latency objective's percentile (0.95 for p95), or 0.95 when none is stated."""
        return self.latency.percentile if self.latency is not None else DEFAULT_PERCENTILE

    @property
    def is_empty(self) -> bool:
        """True when no objective is stated at all."""
        return not self.describe()


@dataclass(frozen=True, slots=True)
class ServiceObjectives:
    """A service's objectives with its per-route overrides (route template -> objectives)."""

    name: str
    objectives: Objectives
    routes: Mapping[str, Objectives] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SLA:
    """The whole sla.yaml. Use `objectives_for(service, route)` to resolve overrides and
    `route_overrides(service)` for the routes that have their own; nobody else looks them up."""

    source: str
    objectives: Objectives
    services: Mapping[str, ServiceObjectives] = field(default_factory=dict)

    def objectives_for(self, service: str | None = None, route: str | None = None) -> Objectives:
        """The objectives in force for a route of a service (route over service over default)."""
        svc = self.services.get(service) if service is not None else None
        if svc is None:
            return self.objectives
        if route is not None and route in svc.routes:
            return svc.routes[route]
        return svc.objectives

    def route_overrides(self, service: str | None = None) -> Mapping[str, Objectives]:
        """Route template -> objectives of the routes with an override of their own: those of
        `service`, or of every service when `service` is None (the first service that names
        a template wins, in file order). Empty for an unknown service."""
        if service is not None:
            svc = self.services.get(service)
            return dict(svc.routes) if svc is not None else {}
        found: dict[str, Objectives] = {}
        for svc in self.services.values():
            for route, objectives in svc.routes.items():
                found.setdefault(route, objectives)
        return found

    def all_objectives(self) -> list[Objectives]:
        """The defaults, then every service's and route's objectives."""
        found = [self.objectives]
        for svc in self.services.values():
            found.append(svc.objectives)
            found.extend(svc.routes.values())
        return found

    def latency_thresholds_s(self) -> tuple[float, ...]:
        """Every latency threshold and slow-request threshold in the file, sorted, unique."""
        values: set[float] = set()
        for objectives in self.all_objectives():
            if objectives.latency is not None:
                values.add(objectives.latency.threshold_s)
            if objectives.slow_request_s is not None:
                values.add(objectives.slow_request_s)
        return tuple(sorted(values))


_T = TypeVar("_T")
OBJECTIVE_KEYS = (
    "latency",
    "slow_request",
    "error_rate",
    "availability",
    "throughput",
    "concurrent_users",
)
_PERCENTILE = re.compile(r"^\s*p(\d+(?:\.\d+)?)\s*$")


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g}%"


class _Parser:
    """Walks the YAML tree, keeping the dotted field path for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> SLAError:
        return SLAError(self.source, path, message)

    def mapping(self, value: object, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {value!r}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    _join(path, str(key)),
                    f"unknown field (expected one of: {', '.join(allowed)})",
                )
        return value

    def unit(self, value: object, path: str, parse: Callable[[object], _T]) -> _T:
        try:
            return parse(value)
        except UnitError as exc:
            raise self.fail(path, str(exc)) from None

    def required(self, data: Mapping[str, Any], key: str, path: str) -> object:
        if key not in data or data[key] is None:
            raise self.fail(_join(path, key), "missing required field")
        return data[key]

    def percentile(self, value: object, path: str) -> float:
        expected = "a percentile like 'p95' or 'p99.9'"
        if isinstance(value, str) and (match := _PERCENTILE.match(value)):
            fraction = float(Decimal(match.group(1)) / 100)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            fraction = float(Decimal(str(value)) / 100) if value > 1 else float(value)
        else:
            raise self.fail(path, f"expected {expected}, got {value!r}")
        if not 0.0 < fraction < 1.0:
            raise self.fail(path, f"expected {expected} between p0 and p100, got {value!r}")
        return fraction

    def objectives(self, data: object, path: str) -> Objectives:
        """Parse an objectives mapping field by field in the documented order; each is optional."""
        raw = self.mapping(data, path, OBJECTIVE_KEYS)
        latency = raw.get("latency")
        slow_request = raw.get("slow_request")
        error_rate = raw.get("error_rate")
        availability = raw.get("availability")
        throughput = raw.get("throughput")
        users = raw.get("concurrent_users")
        return Objectives(
            latency=None if latency is None else self.latency(latency, _join(path, "latency")),
            slow_request_s=None
            if slow_request is None
            else self.unit(slow_request, _join(path, "slow_request"), parse_duration),
            error_rate=None
            if error_rate is None
            else self.unit(error_rate, _join(path, "error_rate"), parse_percent),
            availability=None
            if availability is None
            else self.availability(availability, _join(path, "availability")),
            throughput_rps=None
            if throughput is None
            else self.unit(throughput, _join(path, "throughput"), parse_rate),
            concurrent_users=None
            if users is None
            else self.users(users, _join(path, "concurrent_users")),
        )

    def latency(self, data: object, path: str) -> LatencyObjective:
        latency = self.mapping(data, path, ("percentile", "threshold"))
        return LatencyObjective(
            percentile=self.percentile(
                self.required(latency, "percentile", path), _join(path, "percentile")
            ),
            threshold_s=self.unit(
                self.required(latency, "threshold", path),
                _join(path, "threshold"),
                parse_duration,
            ),
        )

    def availability(self, data: object, path: str) -> AvailabilityObjective:
        """``{target: 99.9%, window: 30d}``, or the shorthand ``99.9%`` (window 30 days)."""
        if isinstance(data, dict):
            availability = self.mapping(data, path, ("target", "window"))
            target_raw = self.required(availability, "target", path)
            target_path = _join(path, "target")
            window_raw = availability.get("window", DEFAULT_AVAILABILITY_WINDOW)
        else:
            target_raw, target_path, window_raw = data, path, DEFAULT_AVAILABILITY_WINDOW
        target = self.unit(target_raw, target_path, parse_percent)
        if not 0.0 < target < 1.0:
            raise self.fail(
                target_path,
                f"expected a percentage strictly between 0% and 100%, got {target_raw!r}",
            )
        window_s = self.unit(window_raw, _join(path, "window"), parse_duration)
        return AvailabilityObjective(target=target, window_s=window_s)

    def users(self, value: object, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(path, f"expected a whole number of users >= 1, got {value!r}")
        return value

    def override(
        self, base: Mapping[str, Any], data: object, path: str
    ) -> tuple[dict[str, Any], Objectives]:
        """Deep-merge a partial objectives mapping over `base`; errors point into `path`."""
        partial = self.mapping(data if data is not None else {}, path, OBJECTIVE_KEYS)
        merged = _deep_merge(base, partial)
        return merged, self.objectives(merged, path)

    def document(self, data: object) -> SLA:
        top = self.mapping(data, "", ("version", "objectives", "services"))
        version = top.get("version", 1)
        if version != 1:
            raise self.fail("version", f"expected 1 (the only format version), got {version!r}")
        base_raw = self.mapping(self.required(top, "objectives", ""), "objectives", OBJECTIVE_KEYS)
        base = self.objectives(base_raw, "objectives")
        services_raw = top.get("services") or {}
        if not isinstance(services_raw, dict):
            raise self.fail(
                "services", f"expected a mapping of service names, got {services_raw!r}"
            )
        services: dict[str, ServiceObjectives] = {}
        for name, body in services_raw.items():
            svc_path = _join("services", str(name))
            svc = self.mapping(body if body is not None else {}, svc_path, ("objectives", "routes"))
            svc_raw, svc_objectives = self.override(
                base_raw, svc.get("objectives"), _join(svc_path, "objectives")
            )
            routes_raw = svc.get("routes") or {}
            routes_path = _join(svc_path, "routes")
            if not isinstance(routes_raw, dict):
                raise self.fail(
                    routes_path, f"expected a mapping of route templates, got {routes_raw!r}"
                )
            routes: dict[str, Objectives] = {}
            for route, route_body in routes_raw.items():
                route_path = _join(routes_path, str(route))
                if not isinstance(route, str) or not route.startswith("/"):
                    raise self.fail(
                        route_path, f"expected a route template starting with '/', got {route!r}"
                    )
                routes[route] = self.override(svc_raw, route_body, route_path)[1]
            services[str(name)] = ServiceObjectives(str(name), svc_objectives, routes)
        sla = SLA(source=self.source, objectives=base, services=services)
        if all(objectives.is_empty for objectives in sla.all_objectives()):
            raise self.fail(
                "objectives",
                f"states no objective (expected at least one of: {', '.join(OBJECTIVE_KEYS)})",
            )
        return sla


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_sla(text: str, source: str = SLA_FILENAME) -> SLA:
    """Parse sla.yaml text; `source` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SLAError(source, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        raise SLAError(source, "", "the file is empty (expected an 'objectives' mapping)")
    return _Parser(source).document(data)


def default_sla() -> SLA:
    """The built-in objectives (identical to the repository's sla.yaml)."""
    return parse_sla(DEFAULT_SLA_YAML, source="<built-in defaults>")


def load_sla(path: Path) -> SLA:
    """Read and parse one sla.yaml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SLAError(str(path), "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SLAError(str(path), "", f"cannot be read ({exc})") from None
    return parse_sla(text, source=str(path))


def find_sla(start: Path) -> Path | None:
    """The nearest sla.yaml in `start` or one of its parents, or None."""
    for folder in (start, *start.parents):
        candidate = folder / SLA_FILENAME
        if candidate.is_file():
            return candidate
    return None


def resolve_sla(explicit: Path | None = None, cwd: Path | None = None) -> SLA:
    """`explicit` if given; else the nearest sla.yaml from `cwd`; else the built-in defaults."""
    if explicit is not None:
        return load_sla(explicit)
    found = find_sla(cwd if cwd is not None else Path.cwd())
    return load_sla(found) if found is not None else default_sla()
