"""The Locust scenarios, by name. Import-light: user classes load only in Locust processes.

    SCENARIOS["course"].user_classes()   # imports locust (gevent patching): Locust processes only

Each scenario module defines `USER_CLASSES`; every task issues exactly one request, so an
open-model schedule can time it (see `loadtests.openmodel`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from loadtests.scenarios.common import ScenarioSettings, ScenarioSettingsError

__all__ = ["SCENARIOS", "Scenario", "ScenarioSettings", "ScenarioSettingsError"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named set of Locust user classes and the SLA service whose objectives judge it."""

    name: str
    service: str | None
    module: str
    uses_campaign_host: bool = False

    def user_classes(self) -> list[Any]:
        """The scenario's Locust user classes. Imports locust: call in a Locust process only."""
        classes: list[Any] = importlib.import_module(self.module).USER_CLASSES
        return list(classes)


SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        "course": Scenario("course", "course", "loadtests.scenarios.course"),
        "campaign": Scenario("campaign", "campaign", "loadtests.scenarios.campaign"),
        "mixed": Scenario("mixed", None, "loadtests.scenarios.mixed", uses_campaign_host=True),
    }
)
"""Scenario name -> Scenario; `mixed` sends campaign requests to a second base URL."""
