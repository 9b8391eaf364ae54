"""`loadwatch dashboards push`: upload the generated JSON through Grafana's HTTP API (httpx).

`POST /api/dashboards/db` with ``overwrite: true`` and the dashboard's stable uid, so a push
is idempotent; the folder is found by title (`GET /api/folders`) or created
(`POST /api/folders`). Each Grafana refusal becomes a `PushError` that says what to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["PushError", "PushResult", "push_dashboards"]

TIMEOUT_S = 10.0
_HINTS = {
    401: "the token was refused (check --token: a Grafana service-account token)",
    403: "the token may not write dashboards here (it needs the Editor role on the folder)",
    404: "not found (check --grafana-url, or the folder)",
    412: "Grafana refused the change as out of date (a dashboard with this title or uid "
    "exists in another folder)",
}


class PushError(RuntimeError):
    """Grafana refused or could not be reached; the message names the dashboard and the fix."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """One uploaded dashboard: its uid, Grafana's version and URL path."""

    uid: str
    version: int
    url: str


def _fail(what: str, response: httpx.Response) -> PushError:
    hint = _HINTS.get(response.status_code, "unexpected answer")
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = response.text[:200]
    detail = f" ({message})" if message else ""
    return PushError(f"{what}: HTTP {response.status_code}: {hint}{detail}")


def _folder_uid(client: httpx.Client, title: str) -> str:
    response = client.get("/api/folders")
    if response.status_code != 200:
        raise _fail(f"folder {title!r}", response)
    for folder in response.json():
        if folder.get("title") == title:
            return str(folder["uid"])
    created = client.post("/api/folders", json={"title": title})
    if created.status_code not in (200, 201):
        raise _fail(f"creating folder {title!r}", created)
    return str(created.json()["uid"])


def push_dashboards(
    files: list[Path], grafana_url: str, token: str, folder: str | None = None
) -> list[PushResult]:
    """Upload every file; raises PushError at the first refusal (earlier uploads stay)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    results = []
    try:
        with httpx.Client(base_url=grafana_url, headers=headers, timeout=TIMEOUT_S) as client:
            body: dict[str, Any] = {"overwrite": True, "message": "loadwatch dashboards push"}
            if folder is not None:
                body["folderUid"] = _folder_uid(client, folder)
            for path in files:
                dashboard = json.loads(path.read_text(encoding="utf-8"))
                dashboard["id"] = None
                response = client.post("/api/dashboards/db", json={**body, "dashboard": dashboard})
                if response.status_code != 200:
                    raise _fail(f"dashboard {dashboard.get('uid')!r} ({path.name})", response)
                answer = response.json()
                results.append(
                    PushResult(str(answer["uid"]), int(answer["version"]), str(answer["url"]))
                )
    except httpx.HTTPError as exc:
        raise PushError(f"{grafana_url}: cannot reach Grafana ({exc})") from None
    return results
