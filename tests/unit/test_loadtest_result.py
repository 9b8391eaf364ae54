"""`run_loadtest` returns a LoadTestResult; `show_result` is the edge that prints and writes."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from collector.exit_codes import ExitCode
from loadtests.options import LoadTestOptions
from loadtests.result import LoadTestResult, show_result
from tests.run_results import make_result


def options(tmp_path: Path) -> LoadTestOptions:
    return LoadTestOptions(
        scenario="browse",
        host="http://127.0.0.1:8101",
        json_path=tmp_path / "run.json",
        html_path=tmp_path / "run.html",
    )


def test_a_judged_run_prints_its_verdict_and_writes_both_reports(tmp_path: Path) -> None:
    result = replace(make_result(), notes=("merged 2 workers",), server_line="server side: x")
    out, err = io.StringIO(), io.StringIO()
    assert show_result(result, options(tmp_path), out=out, err=err) is ExitCode.OK
    text = out.getvalue()
    assert text.index("merged 2 workers") < text.index("latency p95 < 200ms")
    assert text.index("latency p95 < 200ms") < text.index("server side: x")
    assert text.rstrip().endswith(f"wrote {tmp_path / 'run.html'}")
    assert json.loads((tmp_path / "run.json").read_text()) == json.loads(
        json.dumps(result.summary())
    )
    assert "<html" in (tmp_path / "run.html").read_text()
    assert err.getvalue() == ""


def test_an_aborted_run_shows_its_figures_but_writes_no_report(tmp_path: Path) -> None:
    result = replace(make_result(), code=ExitCode.ABORTED, aborted="interrupted")
    out, err = io.StringIO(), io.StringIO()
    assert show_result(result, options(tmp_path), out=out, err=err) is ExitCode.ABORTED
    assert "latency p95 < 200ms" in out.getvalue()
    assert err.getvalue() == "loadwatch loadtest: run aborted (interrupted)\n"
    assert not (tmp_path / "run.json").exists()
    assert not (tmp_path / "run.html").exists()


def test_a_run_without_figures_prints_nothing_and_has_no_summary(tmp_path: Path) -> None:
    result = LoadTestResult(ExitCode.UNREACHABLE)
    out, err = io.StringIO(), io.StringIO()
    assert show_result(result, options(tmp_path), out=out, err=err) is ExitCode.UNREACHABLE
    assert out.getvalue() == err.getvalue() == ""
    assert not result.judged
    with pytest.raises(ValueError, match="no figures"):
        result.summary()


def test_the_result_carries_the_sketch_the_verdict_was_computed_from() -> None:
    result = make_result(latency_s=0.05)
    assert result.stats is not None
    assert result.stats.sketch.count == 1_000
    assert result.stats.sketch.quantile(0.5) == pytest.approx(0.05, rel=0.01)
