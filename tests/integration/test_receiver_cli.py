"""`loadwatch serve receiver` as a user runs it: a child process on 127.0.0.1 that takes
its token from the environment, stores, serves reads and stops cleanly on SIGTERM; and
precise exit-2 messages for a missing token or a bad forwarding file."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from receiver.settings import TOKEN_ENV
from runtime.ports import free_port
from tests.conftest import TIMEOUT_UNIT_S
from tests.integration.loadtest_helpers import loadwatch, loadwatch_command, wait_until_serving
from tests.integration.test_receiver_service import AUTH, TOKEN, alert, notification

pytestmark = pytest.mark.integration


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    return {**env, **extra}


def test_the_receiver_serves_with_the_token_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'receiver.sqlite3'}"
    process = subprocess.Popen(
        loadwatch_command("serve", "receiver", "--port", str(port), "--database-url", url),
        env=_env(**{TOKEN_ENV: TOKEN}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_until_serving(port, process)
        base = f"http://127.0.0.1:{port}"
        posted = httpx.post(f"{base}/alerts", json=notification(alert("cli-1")), headers=AUTH)
        assert posted.json() == {"stored": 1, "duplicates": 0}
        assert httpx.post(f"{base}/alerts", json={}).status_code == 401
        listed = httpx.get(f"{base}/alerts?status=firing", headers=AUTH).json()
        assert [a["fingerprint"] for a in listed["alerts"]] == ["cli-1"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30 * TIMEOUT_UNIT_S)
    assert process.returncode == 0, err.decode()
    assert b"forwarding to none" in out


def _serve_receiver_until_exit(*flags: str) -> subprocess.CompletedProcess[str]:
    """`loadwatch serve receiver FLAGS` run to its exit, output captured as text."""
    return loadwatch("serve", "receiver", *flags, env=_env(), timeout_s=60)


def test_without_a_token_it_exits_2_saying_how_to_give_one() -> None:
    result = _serve_receiver_until_exit("--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"loadwatch serve receiver: token: required (pass --token or set {TOKEN_ENV})"
    )


def test_a_bad_forwarding_file_exits_2_naming_file_field_and_value(tmp_path: Path) -> None:
    config = tmp_path / "forward.yaml"
    config.write_text("destinations:\n  - {name: chat, kind: slack, url: 'hooks.example'}\n")
    result = _serve_receiver_until_exit("--token", TOKEN, "--forward-config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"loadwatch serve receiver: {config}: destinations[0].url: "
        "expected an http:// or https:// URL, got 'hooks.example'"
    )
