"""The generated rules and configuration, checked and unit-tested by the real tools.

promtool (Debian package `prometheus`) checks the rules and prometheus.yml and runs the
generated rule tests; amtool (`prometheus-alertmanager`) checks alertmanager.yml.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from alert_rules.generate import ALERTMANAGER_FILE, PROMETHEUS_FILE, RULES_FILE, generate, write
from collector.sla import DEFAULT_SLA_YAML, parse_sla
from tests.conftest import require_tool

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "alert_rules" / "generated"
TEST_FILES = sorted(p.name for p in GENERATED.glob("rules.test-*.yml"))
TARGETS = {"course": "127.0.0.1:8101", "campaign": "127.0.0.1:8102"}


def run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool(tool), *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_rules_and_prometheus_yml() -> None:
    assert_ok(run("promtool", "check", "rules", RULES_FILE, cwd=GENERATED))
    assert_ok(run("promtool", "check", "config", PROMETHEUS_FILE, cwd=GENERATED))


def test_amtool_accepts_alertmanager_yml() -> None:
    result = run("amtool", "check-config", ALERTMANAGER_FILE, cwd=GENERATED)
    assert_ok(result)
    assert "4 inhibit rules" in result.stdout


@pytest.mark.parametrize("name", TEST_FILES)
def test_every_alert_passes_its_generated_promtool_tests(name: str) -> None:
    assert_ok(run("promtool", "test", "rules", name, cwd=GENERATED))


def test_another_sla_gives_rules_that_pass_their_own_tests(tmp_path: Path) -> None:
    sla = parse_sla(
        DEFAULT_SLA_YAML.replace("p95 ", "p99 ")
        .replace("threshold: 200ms", "threshold: 500ms")
        .replace("99.9%", "99.5%")
        .replace("error_rate: 1%", "error_rate: 2%")
        .replace("throughput: 1000/s", "throughput: 250/s"),
        source="other-sla.yaml",
    )
    files = generate(sla, TARGETS)
    write(files, tmp_path)
    assert 'le="0.5"' in files[RULES_FILE] and "> 0.072" in files[RULES_FILE]
    assert_ok(run("promtool", "check", "rules", RULES_FILE, cwd=tmp_path))
    for name in sorted(files):
        if name.startswith("rules.test-"):
            assert_ok(run("promtool", "test", "rules", name, cwd=tmp_path))


def mutated(tmp_path: Path, old: str, new: str, groups: str) -> subprocess.CompletedProcess[str]:
    """Run the generated 1m tests whose names start with `groups` against the rules with
    the regex `old` replaced by `new`."""
    text = (GENERATED / RULES_FILE).read_text()
    changed = re.sub(old, new, text)
    assert changed != text
    (tmp_path / RULES_FILE).write_text(changed)
    tests = yaml.safe_load((GENERATED / "rules.test-1m.yml").read_text())
    tests["tests"] = [t for t in tests["tests"] if t["name"].startswith(groups)]
    assert tests["tests"]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    return run("promtool", "test", "rules", "tests.yml", cwd=tmp_path)


def test_the_generated_tests_fail_on_a_wrong_threshold(tmp_path: Path) -> None:
    """The tests can fail: 1.44 % moved to 1.7 % (still under the 2.16 % they feed)."""
    result = mutated(tmp_path, r"> 0\.0144", "> 0.017", "AvailabilityBudgetBurn1h for any-service")
    assert result.returncode != 0
    assert "AvailabilityBudgetBurn1h for any-service fires at 1.584%" in result.stderr


def test_the_generated_tests_fail_when_4xx_count_as_errors(tmp_path: Path) -> None:
    old = re.escape('code=~"5..|499"')
    result = mutated(tmp_path, old, 'code=~"[45]..|499"', "HighErrorRatio for any-service")
    assert result.returncode != 0
    assert "HighErrorRatio for any-service stays quiet at 0.9%" in result.stderr


def test_the_generated_tests_fail_when_a_route_override_is_ignored(tmp_path: Path) -> None:
    """/ai/generate is judged by its own 1 s bound; by 200 ms the course would page."""
    override = re.escape(
        ' or rate(loadwatch_http_request_duration_seconds_bucket{service="course",'
    )
    override += re.escape('route="/ai/generate",le="1.0"}') + r"\[\w+\]\)"
    result = mutated(tmp_path, override, "", "LatencyBudgetBurn1h for course")
    assert result.returncode != 0
    assert "LatencyBudgetBurn1h for course stays quiet" in result.stderr
