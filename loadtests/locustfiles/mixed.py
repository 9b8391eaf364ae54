"""Mixed scenario: course users at --host and campaign users (weight 3 : 1) at the campaign
service, LOADWATCH_CAMPAIGN_HOST or the --host's address on port 8102 (absolute URLs).

    loadwatch loadtest mixed --host URL

The course and campaign locustfiles are imported as modules, not their classes, so this
file's User classes are only the two below.
"""

from __future__ import annotations

from loadtests.locustfiles import campaign as _campaign
from loadtests.locustfiles import course as _course
from loadtests.scenarios import common

__all__ = ["MixedCampaignUser", "MixedCourseUser"]


class MixedCourseUser(_course.CourseUser):
    """The course scenario's user, three times as common as a campaign user."""

    weight = 3


class MixedCampaignUser(_campaign.CampaignUser):
    """The campaign scenario's user, sending to the campaign service's own base URL."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.campaign_base = common.campaign_base_url(self.host or "", self.ids.settings)
