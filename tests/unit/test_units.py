import math

import pytest

from collector.units import UnitError, format_duration, parse_duration, parse_percent, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("200ms", 0.2),
        ("1s", 1.0),
        ("1.5m", 90.0),
        ("30d", 2_592_000.0),
        ("250us", 250e-6),
        (" 2h ", 7200.0),
        (0.25, 0.25),
        (3, 3.0),
    ],
)
def test_durations_are_parsed_into_seconds(text: object, seconds: float) -> None:
    assert math.isclose(parse_duration(text), seconds)


@pytest.mark.parametrize(
    "bad", ["fast", "200", "ms", "-1s", "0s", "", None, True, float("nan"), [1]]
)
def test_bad_durations_say_what_was_expected(bad: object) -> None:
    with pytest.raises(UnitError, match="expected a duration like '200ms'"):
        parse_duration(bad)


def test_percentages_become_exact_fractions() -> None:
    assert parse_percent("99.9%") == 0.999
    assert parse_percent("1%") == 0.01
    assert parse_percent(0.05) == 0.05


@pytest.mark.parametrize("bad", ["101%", "-1%", "1", "one percent", 2, True])
def test_bad_percentages_are_rejected(bad: object) -> None:
    with pytest.raises(UnitError, match="percentage"):
        parse_percent(bad)


def test_rates_are_per_second() -> None:
    assert parse_rate("1000/s") == 1000.0
    assert parse_rate("60/m") == 1.0
    assert parse_rate(250) == 250.0
    with pytest.raises(UnitError, match="expected a rate like '1000/s'"):
        parse_rate("lots")
    with pytest.raises(UnitError, match="greater than zero"):
        parse_rate("0/s")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.2, "200ms"),
        (1.0, "1s"),
        (2_592_000.0, "30d"),
        (90.0, "90s"),
        (3600.0, "1h"),
        (0.0005, "0.0005s"),
    ],
)
def test_durations_format_back_the_way_sla_yaml_writes_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert math.isclose(parse_duration(format_duration(seconds)), seconds)
