"""The edge after a run and the `loadwatch history` command: store, compare, print.

    code = after_run(result, recording, code)        # --record / --pushgateway, may fail 1
    code = show_history(url, scenario="browse", last=20, as_json=False)

Blocking (each call runs its own event loop); the rule lives in `loadtests.regression`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from collector.exit_codes import ExitCode
from loadtests.options import RecordOptions
from loadtests.regression import Regression, RegressionReport
from loadtests.result import LoadTestResult
from runs.history import (
    BASELINE_RUNS,
    DEFAULT_HISTORY_URL,
    History,
    HistoryError,
    RunRecord,
    StoredRun,
    runs_table,
)

__all__ = ["after_run", "git_commit", "record_run", "regression_text", "show_history"]


def git_commit(cwd: Path | None = None) -> str | None:
    """HEAD's commit hash of the git checkout around `cwd`, or None (no git, no checkout)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _version() -> str | None:
    try:
        return metadata.version("loadwatch")
    except metadata.PackageNotFoundError:
        return None


def make_record(summary: Mapping[str, Any], labels: Mapping[str, str]) -> RunRecord:
    """The record of a run made here and now: this host, loadwatch's version, git HEAD."""
    return RunRecord(
        summary=summary,
        hostname=socket.gethostname(),
        version=_version(),
        git_commit=git_commit(),
        labels=labels,
    )


async def record_run(
    url: str, record: RunRecord, runs: int = BASELINE_RUNS
) -> tuple[StoredRun, RegressionReport]:
    """Store `record` and judge it against the passing runs stored before it."""
    history = await History.open(url)
    try:
        run_id = await history.add(record)
        stored = (await history.recent(last=1, before_id=run_id + 1))[0]
        return stored, await history.judge(stored, runs)
    finally:
        await history.close()


def regression_text(report: RegressionReport) -> str:
    """The run against its baseline: one line per figure, or why it was not compared."""
    if report.verdict is Regression.NO_BASELINE:
        return (
            f"regression: no baseline yet ({report.baseline_runs} earlier passing runs of"
            " this scenario and target; 3 needed)\n"
        )
    if report.verdict is Regression.INSUFFICIENT_DATA:
        return "regression: not judged (too few requests in this run)\n"
    lines = [
        f"regression: {report.verdict.value} against the median of the last"
        f" {report.baseline_runs} passing runs"
    ]
    for figure in report.figures:
        scale, unit = (1000.0, " ms") if figure.name.endswith("_s") else (1.0, "")
        if figure.name == "error_ratio":
            base, now, band = (
                f"{figure.baseline:.3%}",
                f"{figure.current:.3%}",
                f"{figure.band:.3%}",
            )
        else:
            base = f"{figure.baseline * scale:,.1f}{unit}"
            now = f"{figure.current * scale:,.1f}{unit}"
            band = f"{figure.band * scale:,.1f}{unit}"
        change = "" if figure.change is None else f" ({figure.change:+.1%})"
        lines.append(
            f"  {figure.name.removesuffix('_s'):<12} {base:>12} -> {now:>12}{change:<10}"
            f" band {band:<10} {figure.verdict.value}"
        )
    return "\n".join(lines) + "\n"


def after_run(
    result: LoadTestResult,
    recording: RecordOptions,
    code: int,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """--record, --pushgateway and --grafana-url for a judged, complete run (a push or an
    annotation that fails is reported, never fatal); returns the exit code: `code`,
    or FAILED on a regression with --fail-on-regression, or USAGE when the history cannot
    be used. Aborted runs and runs without figures are neither stored nor pushed."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if not result.judged or result.aborted is not None:
        return code
    report: RegressionReport | None = None
    if recording.record:
        url = recording.history_url or DEFAULT_HISTORY_URL
        try:
            stored, report = asyncio.run(
                record_run(url, make_record(result.summary(), recording.labels))
            )
        except HistoryError as exc:
            print(f"loadwatch loadtest: {exc}", file=err)
            return ExitCode.USAGE
        print(f"recorded run {stored.id} in {_redacted(url)}", file=out)
        out.write(regression_text(report))
        if recording.fail_on_regression and report.verdict is Regression.REGRESSED and code == 0:
            code = ExitCode.FAILED
    if recording.pushgateway_url is not None:
        from runs.export import PushError, push_result

        try:
            push_result(recording.pushgateway_url, result, report, interval_s=recording.interval_s)
        except PushError as exc:
            print(f"loadwatch loadtest: {exc}", file=err)
        else:
            print(f"pushed the result to {recording.pushgateway_url}", file=out)
    if recording.grafana_url is not None and recording.grafana_token is not None:
        from runs.annotate import AnnotateError, annotate_run

        try:
            annotation_id = annotate_run(
                recording.grafana_url, recording.grafana_token, result, report
            )
        except AnnotateError as exc:
            print(f"loadwatch loadtest: {exc}", file=err)
        else:
            print(f"annotated Grafana at {recording.grafana_url} (id {annotation_id})", file=out)
    return code


async def _history_rows(
    url: str, scenario: str | None, last: int
) -> list[tuple[StoredRun, RegressionReport]]:
    history = await History.open(url)
    try:
        runs = await history.recent(scenario=scenario, last=last)
        return [(run, await history.judge(run)) for run in runs]
    finally:
        await history.close()


def show_history(
    url: str | None,
    *,
    scenario: str | None = None,
    last: int = 20,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`loadwatch history`: the last runs, newest first, each against its own baseline."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        rows = asyncio.run(_history_rows(url or DEFAULT_HISTORY_URL, scenario, last))
    except HistoryError as exc:
        print(f"loadwatch history: {exc}", file=err)
        return ExitCode.USAGE
    if as_json:
        json.dump([_run_json(run, report) for run, report in rows], out, indent=2)
        out.write("\n")
    elif rows:
        out.write(runs_table(rows))
    else:
        print("no runs recorded yet (loadwatch loadtest ... --record)", file=out)
    return ExitCode.OK


def _run_json(run: StoredRun, report: RegressionReport) -> dict[str, Any]:
    return {
        "id": run.id,
        "scenario": run.scenario,
        "target": run.target,
        "started_at": run.started_at.isoformat(),
        "passed": run.passed,
        "version": run.version,
        "git_commit": run.git_commit,
        "hostname": run.hostname,
        "labels": dict(run.labels),
        "regression": {
            "verdict": report.verdict.value,
            "baseline_runs": report.baseline_runs,
            "figures": [
                {
                    "name": f.name,
                    "baseline": f.baseline,
                    "current": f.current,
                    "band": f.band,
                    "verdict": f.verdict.value,
                }
                for f in report.figures
            ],
        },
        "summary": dict(run.summary),
    }


def _redacted(url: str) -> str:
    """`url` without a password (postgresql+asyncpg://user:secret@host -> user:***@host)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{credentials}{at}{host}"
