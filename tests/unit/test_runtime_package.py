"""`runtime` is light to import: its submodules load on first use, and it imports no service."""

from __future__ import annotations

import json
import subprocess
import sys

import runtime


def _modules_after(statement: str) -> set[str]:
    """The names in sys.modules after running `statement` in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_importing_the_package_loads_neither_aiohttp_nor_sqlalchemy() -> None:
    loaded = _modules_after("import runtime")
    assert not {"aiohttp", "sqlalchemy", "reference_services"} & loaded


def test_the_process_helpers_use_the_standard_library_only() -> None:
    loaded = _modules_after("import runtime.processes, runtime.ports")
    assert not {"aiohttp", "sqlalchemy", "httpx", "collector"} & loaded


def test_submodules_load_on_first_access() -> None:
    loaded = _modules_after("import runtime\nruntime.database")
    assert "sqlalchemy" in loaded
    assert "aiohttp" not in loaded


def test_the_public_surface_is_the_listed_submodules() -> None:
    for name in runtime.__all__:
        assert getattr(runtime, name).__name__ == f"runtime.{name}"


def test_runtime_never_imports_the_reference_services() -> None:
    loaded = _modules_after("import runtime.http, runtime.database")
    assert not {name for name in loaded if name.startswith("reference_services")}
