import pytest

from reference_services.settings import ServiceSettings, SettingsError


def test_defaults_queue_thousands_of_pending_connections() -> None:
    assert ServiceSettings.build("course").listen_backlog == 4096


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("listen_backlog", 0, "listen_backlog: expected a whole number >= 1, got 0"),
        ("listen_backlog", 1.5, "listen_backlog: expected a whole number >= 1, got 1.5"),
        ("port", 70_000, "port: expected 0..65535, got 70000"),
        ("pool_timeout_s", 0, "pool_timeout_s: expected a number > 0, got 0"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(field: str, value: object, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        ServiceSettings.build("course", **{field: value})
    assert str(caught.value) == message
