"""Burn-rate maths and the scopes rules are generated for: SLA in, plain values out.

The multi-window, multi-burn-rate table is the Google SRE workbook's (chapter 5): an
alert fires when both its long and its short window burn the error budget faster than
`factor` times the rate that would spend it exactly over the SLO window. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from collector import conventions as names
from collector.promql import Matcher
from collector.sla import SLA, Objectives
from collector.units import parse_duration

__all__ = [
    "BURN_ALERTS",
    "BurnAlert",
    "Scope",
    "Severity",
    "Slo",
    "budget_of",
    "rounded",
    "scopes",
    "unreachable_alerts",
]


class Severity(StrEnum):
    """Where an alert goes: `page` wakes someone now, `ticket` waits for working hours."""

    PAGE = "page"
    TICKET = "ticket"


class Slo(StrEnum):
    """The SLOs with an error budget: availability (errors) and latency (slow requests)."""

    AVAILABILITY = "availability"
    LATENCY = "latency"


@dataclass(frozen=True, slots=True)
class BurnAlert:
    """One row of the burn-rate table: both windows above `factor` x budget for `for_s`
    seconds."""

    factor: float
    long: str
    short: str
    severity: Severity
    for_s: float

    def budget_spent(self, slo_window_s: float) -> float:
        """The fraction of an SLO window's budget the long window spends at this rate
        (0.02 for 14.4x over 1h of 30 days)."""
        return self.factor * parse_duration(self.long) / slo_window_s


BURN_ALERTS = (
    BurnAlert(14.4, "1h", "5m", Severity.PAGE, 120.0),
    BurnAlert(6.0, "6h", "30m", Severity.PAGE, 900.0),
    BurnAlert(3.0, "1d", "2h", Severity.TICKET, 3_600.0),
    BurnAlert(1.0, "3d", "6h", Severity.TICKET, 10_800.0),
)
"""Highest burn rate first; every window is one of `conventions.BURN_WINDOWS`. The
factors spend 2 %, 5 %, 10 % and 10 % of a 30-day budget over their long window."""


def rounded(value: float) -> float:
    """`value` rounded to 12 significant digits: 14.4 x 0.001 is 0.0144 exactly."""
    return float(f"{value:.12g}")


def budget_of(objectives: Objectives, slo: Slo) -> float | None:
    """The error budget (allowed bad fraction) of an SLO, None when the SLA sets none."""
    if slo is Slo.AVAILABILITY:
        availability = getattr(objectives, "availability", None)
        return None if availability is None else rounded(1.0 - availability.target)
    latency = getattr(objectives, "latency", None)
    return None if latency is None else rounded(1.0 - latency.percentile)


@dataclass(frozen=True, slots=True)
class Scope:
    """The services one set of objectives applies to.

    The default scope (`service` None) covers every service the SLA does not name; a
    named service gets its own scope. `route_latency_s` and `route_slow_s` hold the
    routes whose latency or slow-request threshold differs from the scope's.
    """

    service: str | None
    matchers: tuple[Matcher, ...]
    objectives: Objectives
    route_latency_s: tuple[tuple[str, float], ...] = ()
    route_slow_s: tuple[tuple[str, float], ...] = ()

    @property
    def name(self) -> str:
        """'default' or the service name; used in rule group names."""
        return self.service if self.service is not None else "default"


def _latency_s(objectives: Objectives) -> float | None:
    latency = getattr(objectives, "latency", None)
    return None if latency is None else float(latency.threshold_s)


def _slow_s(objectives: Objectives) -> float | None:
    slow = getattr(objectives, "slow_request_s", None)
    return None if slow is None else float(slow)


def _overrides(
    routes: Sequence[tuple[str, float | None]], own: float | None
) -> tuple[tuple[str, float], ...]:
    """The routes whose threshold differs from the scope's (none when it has none)."""
    if own is None:
        return ()
    return tuple((r, t) for r, t in routes if t is not None and t != own)


def scopes(sla: SLA) -> list[Scope]:
    """The default scope, then one per service named in the SLA, sorted by name."""
    named = sorted(sla.services)
    found = [
        Scope(
            None,
            tuple(Matcher(names.LABEL_SERVICE, s, "!=") for s in named),
            sla.objectives,
        )
    ]
    for service in named:
        svc = sla.services[service]
        own = svc.objectives
        routes = sorted(svc.routes.items())
        found.append(
            Scope(
                service,
                (Matcher(names.LABEL_SERVICE, service),),
                own,
                _overrides([(r, _latency_s(o)) for r, o in routes], _latency_s(own)),
                _overrides([(r, _slow_s(o)) for r, o in routes], _slow_s(own)),
            )
        )
    return found


def unreachable_alerts(sla: SLA) -> list[str]:
    """Why some burn-rate alerts can never fire: the threshold is 100 % bad or more.

    With 90 % availability the budget is 10 %, and 14.4 x 10 % = 144 % of requests would
    have to fail: that page is left out of the rules, and this says so.
    """
    found: list[str] = []
    for scope in scopes(sla):
        where = "objectives"
        if scope.service is not None:
            where = f"services.{scope.service}.objectives"
        for slo in Slo:
            budget = budget_of(scope.objectives, slo)
            if budget is None:
                continue
            dead = [a for a in BURN_ALERTS if rounded(a.factor * budget) >= 1.0]
            if dead:
                found.append(_unreachable_message(where, slo, budget, dead))
    return found


def _unreachable_message(where: str, slo: Slo, budget: float, dead: Sequence[BurnAlert]) -> str:
    rows = ", ".join(
        f"{a.severity.value} at {a.factor:g}x over {a.long} ({a.factor * budget:.0%} bad)"
        for a in dead
    )
    return (
        f"{where}.{slo.value}: an error budget of {budget:.4g} ({budget:.2%}) is too large "
        f"for these burn-rate alerts to ever fire, so they are not generated: {rows}"
    )
