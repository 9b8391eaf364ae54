"""Locustfiles load as Locust loads them, in a child process (locust patches with gevent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.locustfile import check_locustfile
from loadtests.scenarios import SCENARIOS
from tests.integration.loadtest_helpers import ROOT, run_module


def classes_of(path: Path) -> list[str]:
    result = run_module("loadtests.locustfile", str(path), cwd=ROOT, timeout_s=60)
    assert result.returncode == 0, result.stderr
    names: list[str] = json.loads(result.stdout)["classes"]
    return names


def test_the_built_in_scenarios_load_as_locustfiles() -> None:
    assert {name: classes_of(s.path) for name, s in SCENARIOS.items()} == {
        "course": ["CourseUser"],
        "campaign": ["CampaignUser"],
        "mixed": ["MixedCampaignUser", "MixedCourseUser"],
    }


def test_http_and_fast_http_users_are_found_abstract_ones_are_not(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("PATH = '/hello'\n")
    (tmp_path / "shop.py").write_text(
        "from locust import FastHttpUser, HttpUser, between, task\n"
        "from helpers import PATH\n"
        "class Base(HttpUser):\n    abstract = True\n"
        "class Browser(Base):\n    wait_time = between(1, 2)\n"
        "    @task\n    def hello(self):\n        self.client.get(PATH)\n"
        "class Api(FastHttpUser):\n"
        "    @task\n    def hello(self):\n        self.client.get(PATH)\n"
    )
    assert classes_of(tmp_path / "shop.py") == ["Api", "Browser"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("import nonexistent_module_xyz\n", "does not import: ModuleNotFoundError: No module"),
        ("def broken(:\n", "does not import: SyntaxError: "),
        ("raise RuntimeError('no config\\nsecond line')\n", "RuntimeError: no config"),
        ("from locust import HttpUser\nX = 1\n", "defines no User class (expected a subclass"),
    ],
)
def test_a_bad_locustfile_gets_one_line_saying_why(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(text)
    problem = check_locustfile(path)
    assert problem is not None and problem.startswith(f"{path}: ")
    assert reason in problem and "\n" not in problem
    assert check_locustfile(tmp_path / "missing.py") == f"{tmp_path / 'missing.py'}: no such file"


SHAPED = """
from locust import HttpUser, LoadTestShape, task

class Reader(HttpUser):
    @task
    def hello(self):
        self.client.get("/hello")

class Base(LoadTestShape):
    abstract = True

class Ramp(Base):
    def tick(self):
        return None
"""


def test_a_locustfiles_own_load_shape_is_found_and_a_second_one_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shaped.py"
    path.write_text(SHAPED)
    result = run_module("loadtests.locustfile", str(path), cwd=ROOT, timeout_s=60)
    assert json.loads(result.stdout) == {"classes": ["Reader"], "shape": "Ramp"}
    path.write_text(SHAPED + "\nclass Spike(Base):\n    def tick(self):\n        return None\n")
    assert check_locustfile(path) == (
        f"{path}: defines 2 LoadTestShape classes (Ramp, Spike); expected at most one"
    )
