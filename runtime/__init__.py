"""What every running service shares: the aiohttp runner and edges (`runtime.http`), the
errors handlers raise (`runtime.errors`), request models (`runtime.schema`) and the
operations and OpenAPI document built from them (`runtime.openapi`), the SQLAlchemy engine
helper (`runtime.database`), leased queue rows and the loop that drains them
(`runtime.leases`, `runtime.draining`), free ports (`runtime.ports`) and one group of
child processes with clean stops (`runtime.processes`).

Importing `runtime` loads nothing else: each submodule is imported on first use, so what
needs one helper does not pull in the others: `ports` and `processes` use the standard
library only (the load-test runner imports them without aiohttp).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "database",
    "draining",
    "errors",
    "http",
    "leases",
    "openapi",
    "ports",
    "processes",
    "schema",
]


def __getattr__(name: str) -> ModuleType:
    """`runtime.http` and the others, imported on first access."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
