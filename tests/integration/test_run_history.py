"""Run history on real SQLite and real PostgreSQL: store, read back, baseline, regression,
`loadtest --record` (its edge, `after_run`) and `loadwatch history`."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from collector.exit_codes import ExitCode
from loadtests.options import RecordOptions
from loadtests.regression import Regression
from loadwatch.cli import main
from runs.history import History, HistoryError, RunRecord
from runs.record import after_run, show_history
from tests.run_results import STARTED_S, make_result

pytestmark = pytest.mark.integration


async def _drop(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS loadtest_runs"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty history database of each kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'var' / 'history.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_drop(url))
    return url


def record(summary_of: dict[str, object], **labels: str) -> RunRecord:
    return RunRecord(summary_of, hostname="ci-1", version="0.1", git_commit="abc123", labels=labels)


def test_runs_come_back_newest_first_with_their_provenance(history_url: str) -> None:
    async def scenario() -> None:
        history = await History.open(history_url)
        try:
            first = await history.add(record(make_result().summary(), env="staging"))
            other = make_result(scenario="checkout", started_at_s=STARTED_S + 60)
            second = await history.add(record(other.summary()))
            runs = await history.recent()
            assert [r.id for r in runs] == [second, first]
            assert runs[1].labels == {"env": "staging"}
            assert (runs[1].hostname, runs[1].version, runs[1].git_commit) == (
                "ci-1",
                "0.1",
                "abc123",
            )
            assert runs[1].summary == json.loads(json.dumps(make_result().summary()))
            assert runs[1].passed is True
            assert [r.scenario for r in await history.recent(scenario="checkout")] == ["checkout"]
        finally:
            await history.close()

    asyncio.run(scenario())


def test_the_baseline_is_the_earlier_passing_runs_of_the_same_scenario_and_target(
    history_url: str,
) -> None:
    async def scenario() -> None:
        history = await History.open(history_url)
        try:
            ids = {}
            for name, result in [
                ("old pass", make_result()),
                ("failed", make_result(failures=100)),
                ("other target", make_result(host="http://127.0.0.1:9999")),
                ("other scenario", make_result(scenario="checkout")),
                ("recent pass", make_result()),
                ("current", make_result()),
                ("later pass", make_result()),
            ]:
                ids[name] = await history.add(record(result.summary()))
            current = next(r for r in await history.recent() if r.id == ids["current"])
            baseline = await history.baseline(current)
            assert [r.id for r in baseline] == [ids["recent pass"], ids["old pass"]]
            assert (await history.judge(current)).verdict is Regression.NO_BASELINE
        finally:
            await history.close()

    asyncio.run(scenario())


def test_record_flags_a_slowdown_and_fail_on_regression_exits_1(history_url: str) -> None:
    recording = RecordOptions(record=True, history_url=history_url, fail_on_regression=True)
    for i, latency_s in enumerate([0.050, 0.051, 0.049, 0.050]):
        out = io.StringIO()
        result = make_result(latency_s=latency_s, started_at_s=STARTED_S + i * 60)
        assert after_run(result, recording, result.code, out=out) == ExitCode.OK
    assert "regression: ok against the median of the last 3 passing runs" in out.getvalue()

    slower = make_result(latency_s=0.080, started_at_s=STARTED_S + 600)
    assert slower.code == ExitCode.OK, "still inside the SLA: only the regression fails it"
    out, err = io.StringIO(), io.StringIO()
    assert after_run(slower, recording, slower.code, out=out, err=err) == ExitCode.FAILED
    assert "recorded run 5 in" in out.getvalue()
    assert "regression: regressed against the median of the last 4 passing runs" in out.getvalue()
    p95_line = next(line for line in out.getvalue().splitlines() if line.strip().startswith("p95"))
    before, after = (float(v) for v in re.findall(r"([\d.]+) ms ->\s+([\d.]+) ms", p95_line)[0])
    assert before == pytest.approx(100.0, rel=0.01)  # p95 of 50 ms runs: every tenth 2 x
    assert after == pytest.approx(160.0, rel=0.01)
    assert p95_line.endswith("regressed")

    table = io.StringIO()
    assert show_history(history_url, last=2, out=table) == ExitCode.OK
    lines = table.getvalue().splitlines()
    assert lines[0].split()[:3] == ["id", "started", "(UTC)"]
    assert lines[1].split()[0] == "5"
    assert re.search(r"regressed \(p50 \+(59|60)%, p95 \+(59|60)%, p99 \+(59|60)%\)", lines[1]), (
        lines[1]
    )
    assert lines[2].split()[0] == "4" and " ok " in lines[2]


def test_history_json_is_one_object_per_run_with_its_regression(
    history_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = RecordOptions(record=True, history_url=history_url, labels={"ci": "yes"})
    for i in range(2):
        result = make_result(started_at_s=STARTED_S + i)
        after_run(result, recording, result.code, out=io.StringIO())
    capsys.readouterr()
    assert main(["history", "--history-url", history_url, "--json", "--scenario", "browse"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in runs] == [2, 1]
    assert runs[0]["labels"] == {"ci": "yes"}
    assert runs[0]["regression"] == {"verdict": "no baseline", "baseline_runs": 1, "figures": []}
    assert runs[0]["summary"]["requests"] == 1_000


def test_aborted_runs_are_not_recorded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}"
    aborted = make_result()
    aborted = type(aborted)(ExitCode.ABORTED, aborted.info, aborted.stats, aborted.verdict, "x")
    out = io.StringIO()
    assert after_run(aborted, RecordOptions(record=True, history_url=url), 3, out=out) == 3
    assert out.getvalue() == ""
    table = io.StringIO()
    show_history(url, out=table)
    assert table.getvalue() == "no runs recorded yet (loadwatch loadtest ... --record)\n"


def test_an_unusable_history_url_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    url = f"sqlite+aiosqlite:///{tmp_path / 'file' / 'h.sqlite3'}"
    with pytest.raises(HistoryError, match="--history-url: .* is a file"):
        asyncio.run(History.open(url))
    err = io.StringIO()
    assert show_history(url, err=err) == ExitCode.USAGE
    assert err.getvalue().startswith("loadwatch history: --history-url: ")
