"""A finished run as a Grafana annotation, so dashboards show when load tests ran and how.

    annotation_id = annotate_run("http://127.0.0.1:3000", token, result, report)

`POST /api/annotations` (an organisation annotation: every dashboard that shows
annotations tagged `loadwatch` sees it) spanning the run, tagged `loadwatch`,
`scenario:NAME`, `target:URL`, `passed` or `failed` and `regression:VERDICT` when the run
was recorded. A refusal or an unreachable Grafana is an `AnnotateError` that says what to
fix. Blocks up to 10 s (httpx).
"""

from __future__ import annotations

from typing import Any

import httpx

from collector import conventions as names
from loadtests.regression import RegressionReport
from loadtests.result import LoadTestResult

__all__ = ["TAG", "AnnotateError", "annotate_run", "annotation"]

TAG = names.LOADTEST_ANNOTATION_TAG
TIMEOUT_S = 10.0
_HINTS = {
    401: "the token was refused (check --grafana-token: a Grafana service-account token)",
    403: "the token may not create annotations (it needs the Editor role, or the"
    " annotations:create permission)",
    404: "not found (check --grafana-url: Grafana's base URL, without /api)",
}


class AnnotateError(RuntimeError):
    """Grafana refused the annotation or could not be reached; the message says why."""


def annotation(result: LoadTestResult, report: RegressionReport | None = None) -> dict[str, Any]:
    """The request body for `result` (judged, with figures); pure."""
    info, stats, verdict = result.info, result.stats, result.verdict
    if info is None or stats is None or verdict is None:
        raise ValueError("this run produced no figures; there is nothing to annotate")
    outcome = "passed" if verdict.passed else "failed"
    tags = [TAG, f"scenario:{info.scenario}", f"target:{info.host}", outcome]
    if report is not None:
        tags.append(f"regression:{report.verdict.value.replace(' ', '-')}")
    p95 = stats.latency.p95_ms
    latency = "-" if p95 is None else f"{p95:,.1f} ms"
    text = (
        f"load test {info.scenario} against {info.host} {outcome}: {stats.rps:,.1f} req/s,"
        f" p95 {latency}, errors {stats.error_rate:.2%}"
    )
    if verdict.invalid:
        text += f" (cannot be trusted: {verdict.invalid})"
    if report is not None:
        text += f"; regression: {report.verdict.value}"
    start_ms = round(stats.started_at_s * 1000)
    return {
        "time": start_ms,
        "timeEnd": start_ms + round(stats.duration_s * 1000),
        "tags": tags,
        "text": text,
    }


def annotate_run(
    url: str,
    token: str,
    result: LoadTestResult,
    report: RegressionReport | None = None,
) -> int:
    """POST the run's annotation to the Grafana at `url`; returns Grafana's annotation id."""
    body = annotation(result, report)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT_S) as client:
            response = client.post("/api/annotations", json=body)
    except httpx.HTTPError as exc:
        raise AnnotateError(f"--grafana-url: cannot reach {url}: {exc}") from exc
    if response.status_code != 200:
        hint = _HINTS.get(response.status_code, "unexpected answer")
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = response.text[:200]
        detail = f" ({message})" if message else ""
        raise AnnotateError(f"Grafana annotation: HTTP {response.status_code}: {hint}{detail}")
    try:
        return int(response.json()["id"])
    except (ValueError, KeyError, TypeError):
        raise AnnotateError(
            f"Grafana annotation: unexpected answer {response.text[:200]!r}"
        ) from None
