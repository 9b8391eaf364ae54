"""Receiver settings: the token from the flag or the environment, and precise errors."""

from __future__ import annotations

import pytest

from receiver.settings import TOKEN_ENV, ReceiverSettings, ReceiverSettingsError, token_from

TOKEN = "0123456789abcdef"


def test_the_flag_wins_over_the_environment() -> None:
    assert token_from("from-the-flag", {TOKEN_ENV: "from-env"}) == "from-the-flag"
    assert token_from(None, {TOKEN_ENV: "from-env"}) == "from-env"


def test_a_missing_token_says_how_to_give_one() -> None:
    with pytest.raises(ReceiverSettingsError, match=f"--token or set {TOKEN_ENV}"):
        token_from(None, {})


def test_defaults_are_sqlite_in_var_on_port_8104() -> None:
    settings = ReceiverSettings.build(token=TOKEN)
    assert settings.database_url == "sqlite+aiosqlite:///var/receiver.sqlite3"
    assert (settings.host, settings.port) == ("127.0.0.1", 8104)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token": "short"}, "token: expected at least 16 characters, got 5 characters"),
        ({"database_url": "mysql://x"}, "database_url: expected a URL starting with"),
        ({"port": 70000}, "port: expected 0..65535, got 70000"),
        ({"lease_s": 0}, "lease_s: expected a number > 0, got 0"),
        ({"max_body_bytes": 0}, "max_body_bytes: expected a whole number >= 1, got 0"),
        ({"colour": "red"}, "unknown setting 'colour'"),
    ],
)
def test_a_bad_setting_is_named(overrides: dict[str, object], message: str) -> None:
    token = str(overrides.pop("token", TOKEN))
    with pytest.raises(ReceiverSettingsError) as caught:
        ReceiverSettings.build(token=token, **overrides)
    assert str(caught.value).startswith(message)
