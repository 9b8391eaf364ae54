"""What one `loadwatch loadtest` run returns, and the edge that prints and writes it.

    result = run_loadtest(options)            # judges the run, prints nothing about it
    code = show_result(result, options)       # verdict table, breakdown, JSON/HTML files

`LoadTestResult` is what later steps build on (history, regression, Pushgateway): the exit
code, the run info, the stats with their latency sketch, and the verdict. Only
`show_result` and `write_reports` do I/O here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from collector.exit_codes import ExitCode
from loadtests.breakdown import breakdown_text
from loadtests.gate import Verdict, verdict_table
from loadtests.options import LoadTestOptions
from loadtests.report import RunInfo, html_report, json_summary
from loadtests.stats import RunStats

__all__ = ["LoadTestResult", "show_result", "write_reports"]


@dataclass(frozen=True)
class LoadTestResult:
    """One run's outcome. `info`, `stats` and `verdict` are None when the run never produced
    figures (bad usage, unreachable target, a child that died before reporting); `aborted`
    says why a run that did report was cut short (it is then never a pass). `notes` are
    lines printed before the verdict table, `server_line` the Prometheus comparison."""

    code: ExitCode
    info: RunInfo | None = None
    stats: RunStats | None = None
    verdict: Verdict | None = None
    aborted: str | None = None
    notes: tuple[str, ...] = ()
    server_line: str | None = None

    @property
    def judged(self) -> bool:
        """Whether the run has figures and a verdict (it may still have been aborted)."""
        return self.info is not None and self.stats is not None and self.verdict is not None

    def summary(self) -> dict[str, Any]:
        """The JSON summary (`loadtests.report.json_summary`); only for a judged run."""
        if self.info is None or self.stats is None or self.verdict is None:
            raise ValueError("this run produced no figures; there is no summary")
        return json_summary(self.info, self.stats, self.verdict)


def write_reports(result: LoadTestResult, options: LoadTestOptions, out: TextIO) -> None:
    """Write --json and --html for a judged, complete run; prints each path written."""
    if not result.judged or result.aborted is not None:
        return
    assert result.info is not None and result.stats is not None and result.verdict is not None
    if options.json_path is not None:
        text = json.dumps(result.summary(), indent=2, allow_nan=False) + "\n"
        options.json_path.write_text(text)
        print(f"wrote {options.json_path}", file=out)
    if options.html_path is not None:
        options.html_path.write_text(html_report(result.info, result.stats, result.verdict))
        print(f"wrote {options.html_path}", file=out)


def show_result(
    result: LoadTestResult,
    options: LoadTestOptions,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> ExitCode:
    """Print the run's notes, verdict table, breakdown and server-side line to `out`
    (default stdout), write the reports (not for an aborted run), end an invalid run's output
    with its `invalid_line`, say why a run was aborted on `err` (default stderr); returns the
    result's exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if result.judged:
        assert result.stats is not None and result.verdict is not None
        for note in result.notes:
            print(note, file=out)
        out.write(verdict_table(result.verdict, closing=False))
        out.write(breakdown_text(result.stats))
        if result.server_line is not None:
            print(result.server_line, file=out)
        write_reports(result, options, out)
        if result.verdict.invalid_line:  # last, so that a CI job finds it on the last line
            print(result.verdict.invalid_line, file=out)
    if result.aborted is not None:
        print(f"loadwatch loadtest: run aborted ({result.aborted})", file=err)
    return result.code
