"""The pure core imports no HTTP stack; the package's public names still load, lazily."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = (
    "collector.quantiles",
    "collector.log_mapping",
    "collector.sketch",
    "collector.sketch_checks",
    "collector.windowed_sketch",
    "collector.sla",
    "collector.conventions",
    "collector.snapshot",
    "collector.units",
    "loadtests.gate",
    "loadtests.stats",
    "runs.capacity",
    "runs.capacity_chart",
    "runs.capacity_probe",
    "runs.capacity_report",
)
HEAVY = ("aiohttp", "prometheus_client", "psutil")


def imported_after(code: str) -> list[str]:
    """Top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_imports_no_http_stack(module: str) -> None:
    loaded = imported_after(f"import {module}")
    assert [name for name in HEAVY if name in loaded] == []


def test_importing_the_package_imports_none_of_its_modules() -> None:
    loaded = imported_after("import collector")
    assert [name for name in (*HEAVY, "numpy", "yaml") if name in loaded] == []


def test_every_public_name_loads_on_first_use() -> None:
    code = (
        "import collector\n"
        "from collector import instrument, INSTRUMENTATION_KEY\n"
        "assert callable(instrument)\n"
        "assert all(getattr(collector, name) is not None for name in collector.__all__)\n"
        "assert set(collector.__all__) <= set(dir(collector))"
    )
    assert "aiohttp" in imported_after(code)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import collector

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        collector.nothing_here  # noqa: B018
