"""The receiver's place in the house: it imports `collector`, `runtime` and third-party
packages only, never the demo services or the load tests; its pure core imports no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import receiver

PACKAGE = Path(receiver.__file__).parent
ALLOWED_FIRST_PARTY = {"collector", "runtime", "receiver"}
FIRST_PARTY = {"collector", "runtime", "receiver", "reference_services", "loadtests",
               "loadwatch", "alert_rules", "dashboards", "benchmarks", "runs", "livehub"}  # fmt: skip
PURE = ("payload", "keys", "backoff", "destinations", "messages", "auth")
IO_MODULES = {"aiohttp", "httpx", "sqlalchemy", "asyncio", "socket", "runtime"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_receiver_imports_only_collector_and_runtime_of_loadwatch() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        wrong = (imports(path) & FIRST_PARTY) - ALLOWED_FIRST_PARTY
        assert not wrong, f"{path.name} imports {sorted(wrong)}"


def test_the_pure_core_does_no_io() -> None:
    for name in PURE:
        wrong = imports(PACKAGE / f"{name}.py") & IO_MODULES
        assert not wrong, f"{name}.py imports {sorted(wrong)}"
