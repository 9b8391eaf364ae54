"""Campaign domain rules, the list query's shape, the seed rows and the job view (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.dialects import postgresql

from collector import conventions as names
from reference_services.campaign.jobs import JobMetrics, JobOutcome, JobView
from reference_services.campaign.models import (
    DEFAULT_CAMPAIGN_PLATFORMS,
    CampaignBase,
    CampaignStatus,
    is_platform_list,
    utc,
)
from reference_services.campaign.queries import list_campaigns
from reference_services.campaign.seed import campaign_rows


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (["twitter"], True),
        (list(DEFAULT_CAMPAIGN_PLATFORMS), True),
        ([], False),
        (["twitter", "twitter"], False),
        (["has space"], False),
        (["x" * 65], False),
        ([f"p{n}" for n in range(17)], False),
        ("twitter", False),
        ([1], False),
    ],
)
def test_platform_lists_are_short_distinct_and_well_named(value: object, valid: bool) -> None:
    assert is_platform_list(value) is valid


def test_naive_times_are_read_as_utc_and_aware_ones_converted() -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    assert utc(naive) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    plus_two = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc(plus_two) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_the_guides_index_is_on_status_then_created_at() -> None:
    campaigns = CampaignBase.metadata.tables["campaigns"]
    index = next(i for i in campaigns.indexes if i.name == "idx_campaigns_status_created")
    assert [c.name for c in index.columns] == ["status", "created_at"]


def test_the_list_query_filters_by_status_and_time_and_orders_by_the_index() -> None:
    after = datetime(2024, 5, 1, tzinfo=UTC)
    sql = str(list_campaigns("active", after, 50).compile(dialect=postgresql.dialect()))
    assert "WHERE campaigns.status = " in sql and "campaigns.created_at > " in sql
    assert "ORDER BY campaigns.created_at, campaigns.id" in sql
    assert "WHERE" not in str(list_campaigns(None, None, 50).compile())


def test_seed_rows_are_deterministic_with_ids_statuses_and_ages_spread() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    rows = campaign_rows(1000, 42, now)
    assert rows == campaign_rows(1000, 42, now)
    assert [r["id"] for r in rows] == list(range(1, 1001))
    assert Counter(r["status"] for r in rows) == {s.value: 200 for s in CampaignStatus}
    ages = [now - r["created_at"] for r in rows]
    assert all(timedelta(0) <= age <= timedelta(days=90) for age in ages)
    assert max(ages) - min(ages) > timedelta(days=80)
    assert all(is_platform_list(r["platforms"]) and len(r["platforms"]) >= 2 for r in rows)
    assert all((r["processed_at"] is None) == (r["status"] == "draft") for r in rows)


def test_a_job_view_renders_times_as_iso_8601() -> None:
    due = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    view = JobView(7, "process_campaign", 3, "pending", due, 1, None, None)
    assert view.to_dict() == {
        "id": 7,
        "kind": "process_campaign",
        "campaign_id": 3,
        "status": "pending",
        "due_at": "2024-05-01T12:00:00+00:00",
        "attempts": 1,
        "last_error": None,
        "finished_at": None,
    }


def test_job_metrics_export_every_outcome_from_zero_and_share_a_registry() -> None:
    registry = CollectorRegistry()
    first = JobMetrics(registry, service="campaign")
    JobMetrics(registry, service="campaign-b")
    first.observe_outcome(JobOutcome.DONE)
    first.deferred.inc()
    first.due.set(4)
    value = registry.get_sample_value
    for outcome in JobOutcome:
        labels = {"service": "campaign-b", "outcome": outcome.value}
        assert value(names.JOBS_PROCESSED + "_total", labels) == 0
    assert value(names.JOBS_PROCESSED + "_total", {"service": "campaign", "outcome": "done"}) == 1
    assert value(names.JOBS_DEFERRED + "_total", {"service": "campaign"}) == 1
    assert value(names.JOBS_DUE, {"service": "campaign"}) == 4
