from dataclasses import replace

from collector import conventions
from collector.sla import DEFAULT_SLA_YAML, default_sla, parse_sla


def test_buckets_include_every_sla_threshold_exactly() -> None:
    buckets = conventions.duration_buckets(default_sla())
    assert 0.2 in buckets
    assert 1.0 in buckets
    assert list(buckets) == sorted(set(buckets))


def test_buckets_are_dense_around_the_latency_threshold() -> None:
    buckets = conventions.duration_buckets(default_sla())
    near = [b for b in buckets if 0.1 <= b <= 0.4]
    assert len(near) >= 6


def test_another_sla_gives_other_bounds() -> None:
    sla = parse_sla(DEFAULT_SLA_YAML.replace("threshold: 200ms", "threshold: 350ms"))
    buckets = conventions.duration_buckets(sla)
    assert 0.35 in buckets
    assert 0.2 not in buckets
    assert buckets != conventions.duration_buckets(default_sla())


def test_thresholds_that_are_not_round_numbers_are_kept_exactly() -> None:
    sla = default_sla()
    odd = replace(sla, objectives=replace(sla.objectives, slow_request_s=0.7331))
    assert 0.7331 in conventions.duration_buckets(odd)


def test_metric_names_follow_prometheus_conventions() -> None:
    assert conventions.HTTP_REQUEST_DURATION.endswith("_seconds")
    assert conventions.DB_STATEMENT_DURATION.endswith("_seconds")
    for counter in (conventions.HTTP_REQUESTS, conventions.CACHE_REQUESTS):
        assert not counter.endswith("_total"), "the exposition appends _total to counters"


def test_rule_names_are_distinct_per_window() -> None:
    names = {
        rule(window)
        for rule in (
            conventions.rule_error_ratio,
            conventions.rule_latency_ratio,
            conventions.rule_request_rate,
            conventions.rule_slow_ratio,
        )
        for window in conventions.BURN_WINDOWS
    }
    assert len(names) == 4 * len(conventions.BURN_WINDOWS)
    assert all(name.startswith("loadwatch:") for name in names)
