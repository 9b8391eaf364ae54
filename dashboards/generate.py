"""`loadwatch dashboards`: build every `*.dashboard.py` beside this module for an SLA and
write `dashboards/json/<uid>.json` (only this module writes files)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from grafanalib.core import Dashboard

from collector.sla import SLA
from dashboards.render import dashboard_json

__all__ = ["DASHBOARD_DIR", "JSON_DIR", "build_all", "dashboard_files", "write"]

DASHBOARD_DIR = Path(__file__).resolve().parent
JSON_DIR = DASHBOARD_DIR / "json"


def dashboard_files(folder: Path = DASHBOARD_DIR) -> list[Path]:
    """The grafanalib dashboard sources, sorted by name."""
    return sorted(folder.glob("*.dashboard.py"))


def _load(path: Path) -> ModuleType:
    name = "loadwatch_dashboard_" + path.name.removesuffix(".dashboard.py")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_all(sla: SLA, folder: Path = DASHBOARD_DIR) -> dict[str, str]:
    """{file name: Grafana JSON text} for every dashboard source, built for `sla`."""
    files: dict[str, str] = {}
    for path in dashboard_files(folder):
        build: Callable[[SLA], Dashboard] = _load(path).build
        dashboard = build(sla)
        files[f"{dashboard.uid}.json"] = dashboard_json(dashboard, Path(sla.source).name)
    return files


def write(files: dict[str, str], out_dir: Path) -> list[Path]:
    """Write each file (replacing atomically) and remove stale `*.json`; the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(files.items()):
        path = out_dir / name
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    for stale in out_dir.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    return written
