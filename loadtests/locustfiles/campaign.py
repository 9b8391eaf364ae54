"""Campaign scenario: create, list by status, process and publish against the campaign
service at --host.

    loadwatch loadtest campaign --host URL      # or: locust -f loadtests/locustfiles/campaign.py
"""

from __future__ import annotations

from locust import FastHttpUser, task

from loadtests.scenarios import common

__all__ = ["CampaignUser"]


class CampaignUser(FastHttpUser):
    """A marketer: browses campaigns, creates some, processes and publishes them."""

    wait_time = common.think
    campaign_base = ""
    """Prefix of campaign URLs: "" sends them to --host; the mixed scenario sets a base URL."""

    def on_start(self) -> None:
        """Identity only, no request (the open model reuses users without running them)."""
        self.ids = common.IdPicker(common.settings_of(self.environment))

    @task(6)
    def list_by_status(self) -> None:
        common.list_campaigns(self.client, self.ids, self.campaign_base)

    @task(2)
    def create(self) -> None:
        common.create_campaign(self.client, self.ids, self.campaign_base)

    @task(2)
    def process(self) -> None:
        common.process_campaign(self.client, self.ids, self.campaign_base)

    @task(1)
    def publish(self) -> None:
        common.publish_campaign(self.client, self.ids, self.campaign_base)
