"""Read what the reference services were seeded with, so built-in scenarios fit the data.

    counts = fetch_dataset("http://127.0.0.1:8101")   # {"users": 300, "courses": 5, ...}
    settings = settings.with_dataset(counts)

The course and campaign services answer `GET /dataset` with their row counts (ids are 1..N).
A service that does not (an older one, or not ours) gives an empty mapping: the scenario then
keeps the default seed's ranges or the LOADWATCH_SEED_* variables. Blocking I/O: one GET per
base URL, at most `timeout_s` seconds each.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping

from loadtests.scenarios.common import ScenarioSettings

__all__ = ["DATASET_PATH", "describe_dataset", "fetch_dataset", "fit_to_services"]

DATASET_PATH = "/dataset"
_KEYS = ("users", "courses", "videos", "enrollments", "campaigns")


def fetch_dataset(base_url: str, timeout_s: float = 5.0) -> dict[str, int]:
    """The counts `base_url` publishes at /dataset; {} when it publishes none."""
    try:
        with urllib.request.urlopen(base_url + DATASET_PATH, timeout=timeout_s) as response:
            data = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: value
        for key, value in data.items()
        if key in _KEYS and isinstance(value, int) and not isinstance(value, bool)
    }


def fit_to_services(
    settings: ScenarioSettings, base_urls: Iterable[str], timeout_s: float = 5.0
) -> tuple[ScenarioSettings, dict[str, int]]:
    """`settings` with every published count applied, and the counts that were published."""
    counts: dict[str, int] = {}
    for url in base_urls:
        counts.update(fetch_dataset(url, timeout_s))
    return settings.with_dataset(counts), counts


def describe_dataset(settings: ScenarioSettings, published: Mapping[str, int]) -> str:
    """One line: the id ranges the scenario draws from, and where they came from."""
    if not published:
        return "data: the default seed's id ranges (the services publish no /dataset)"
    drawn = {
        "users": settings.users,
        "courses": settings.courses,
        "videos": settings.videos,
        "enrollments": settings.enrollments,
        "campaigns": settings.campaigns,
    }
    shown = ", ".join(f"{drawn[key]:,} {key}" for key in _KEYS if key in published)
    pinned = [key for key in settings.explicit if key in published]
    return f"data (GET /dataset): {shown}" + (
        f" ({', '.join(pinned)} from LOADWATCH_SEED_*)" if pinned else ""
    )
