"""What a load test runs: a built-in scenario by name, or a user's locustfile by path.

    scenario = resolve_scenario("course")              # a locustfile shipped in the package
    scenario = resolve_scenario("path/to/locustfile.py")
    scenario.user_classes()   # imports locust (gevent patching): Locust processes only

Both kinds are ordinary locustfiles, loaded the same way (`loadtests.locustfile`). The
built-in ones (`loadtests/locustfiles/`) name the SLA service whose objectives judge them
and issue exactly one request per task, so an open-model schedule can time each one.
Import-light: no locust here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from loadtests.scenarios.common import ScenarioSettings, ScenarioSettingsError

__all__ = [
    "SCENARIOS",
    "Scenario",
    "ScenarioError",
    "ScenarioSettings",
    "ScenarioSettingsError",
    "resolve_scenario",
]

_LOCUSTFILES = Path(__file__).resolve().parent.parent / "locustfiles"


class ScenarioError(ValueError):
    """The scenario argument is neither a built-in name nor an existing .py file."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A locustfile and the SLA service whose objectives judge it (None: the defaults).

    `built_in` scenarios fit the reference services' seeded data (`/dataset`);
    `uses_campaign_host` sends campaign requests to a second base URL (mixed)."""

    name: str
    path: Path
    service: str | None = None
    built_in: bool = False
    uses_campaign_host: bool = False

    def user_classes(self) -> list[Any]:
        """The locustfile's User classes. Imports locust: call in a Locust process only."""
        from loadtests.locustfile import load_user_classes

        return load_user_classes(self.path)


SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        "course": Scenario("course", _LOCUSTFILES / "course.py", "course", built_in=True),
        "campaign": Scenario("campaign", _LOCUSTFILES / "campaign.py", "campaign", built_in=True),
        "mixed": Scenario(
            "mixed", _LOCUSTFILES / "mixed.py", None, built_in=True, uses_campaign_host=True
        ),
    }
)
"""The built-in scenarios by name; `mixed` sends campaign requests to a second base URL."""


def resolve_scenario(reference: str, service: str | None = None) -> Scenario:
    """A built-in scenario's name, or the path of a locustfile (`service`: its SLA service;
    for a built-in one, it replaces the scenario's own). ScenarioError says what is wrong."""
    if reference in SCENARIOS:
        scenario = SCENARIOS[reference]
        return scenario if service is None else replace(scenario, service=service)
    path = Path(reference)
    if path.suffix != ".py":
        names = ", ".join(sorted(SCENARIOS))
        raise ScenarioError(
            f"expected a built-in scenario ({names}) or a locustfile path ending in .py,"
            f" got {reference!r}"
        )
    if not path.is_file():
        raise ScenarioError(f"{reference}: no such file")
    return Scenario(path.stem, path.resolve(), service)
