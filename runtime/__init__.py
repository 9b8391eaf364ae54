"""What every running service shares: the aiohttp runner and edges (`runtime.http`), the
SQLAlchemy engine helper (`runtime.database`).

Importing `runtime` loads nothing else: each submodule is imported on first use, so what
needs one helper does not pull in aiohttp or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["database", "http"]


def __getattr__(name: str) -> ModuleType:
    """`runtime.http` and the others, imported on first access."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
