"""What `loadwatch stack status` shows: each component's health, Prometheus' scrape targets
and the firing alerts, read over the components' HTTP APIs (httpx, 2 s timeouts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from promstack.components import Component

__all__ = ["ScrapeTarget", "StackStatus", "healthy", "read_status", "render_status"]

TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """One Prometheus scrape target: job, URL, health ('up', 'down', 'unknown'), last error."""

    job: str
    url: str
    health: str
    error: str


@dataclass(frozen=True, slots=True)
class StackStatus:
    """Health per component (None: no pid file, not started), targets and firing alerts."""

    components: tuple[tuple[Component, bool | None], ...]
    targets: tuple[ScrapeTarget, ...]
    firing: tuple[str, ...]


def healthy(component: Component) -> bool:
    """Whether the component answers 200 on its health path."""
    try:
        return httpx.get(component.url + component.health_path, timeout=TIMEOUT_S).is_success
    except httpx.HTTPError:
        return False


def _get_json(url: str) -> Any:
    try:
        response = httpx.get(url, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError):
        return None


def read_status(components: tuple[tuple[Component, bool], ...]) -> StackStatus:
    """Probe every started component (pairs of component, has a live pid) over HTTP."""
    probed: list[tuple[Component, bool | None]] = [
        (c, healthy(c) if running else None) for c, running in components
    ]
    targets: list[ScrapeTarget] = []
    firing: list[str] = []
    prometheus = next((c for c, ok in probed if c.name == "prometheus" and ok), None)
    if prometheus is not None:
        data = _get_json(prometheus.url + "/api/v1/targets?state=active") or {}
        for t in data.get("data", {}).get("activeTargets", []):
            targets.append(
                ScrapeTarget(
                    job=str(t.get("labels", {}).get("job", "")),
                    url=str(t.get("scrapeUrl", "")),
                    health=str(t.get("health", "unknown")),
                    error=str(t.get("lastError", "")),
                )
            )
        alerts = _get_json(prometheus.url + "/api/v1/alerts") or {}
        for a in alerts.get("data", {}).get("alerts", []):
            if a.get("state") == "firing":
                labels = a.get("labels", {})
                where = f" ({labels['service']})" if "service" in labels else ""
                severity = labels.get("severity", "")
                firing.append(f"{labels.get('alertname', '?')}{where} [{severity}]")
    return StackStatus(tuple(probed), tuple(targets), tuple(sorted(firing)))


def render_status(status: StackStatus) -> str:
    """The status as aligned plain text."""
    lines = ["components:"]
    for component, ok in status.components:
        state = "not running" if ok is None else "healthy" if ok else "UNHEALTHY"
        lines.append(f"  {component.name:<13} {component.url:<24} {state}")
    if status.targets:
        lines.append("scrape targets:")
        for t in status.targets:
            error = f"  ({t.error})" if t.error else ""
            lines.append(f"  {t.job:<13} {t.url:<40} {t.health}{error}")
    lines.append("firing alerts:" + ("" if status.firing else " none"))
    lines.extend(f"  {alert}" for alert in status.firing)
    return "\n".join(lines) + "\n"
