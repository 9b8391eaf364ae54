"""Mixed scenario: course users at --host and campaign users (weight 3 : 1) at the campaign
service, LOADWATCH_CAMPAIGN_HOST or the --host's address on port 8102 (absolute URLs).

    USER_CLASSES = [MixedCourseUser, MixedCampaignUser]   # Locust process only
"""

from __future__ import annotations

from loadtests.scenarios import common
from loadtests.scenarios.campaign import CampaignUser
from loadtests.scenarios.course import CourseUser

__all__ = ["USER_CLASSES", "MixedCampaignUser", "MixedCourseUser"]


class MixedCourseUser(CourseUser):
    """The course scenario's user, three times as common as a campaign user."""

    weight = 3


class MixedCampaignUser(CampaignUser):
    """The campaign scenario's user, sending to the campaign service's own base URL."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.campaign_base = common.campaign_base_url(self.host or "", self.ids.settings)


USER_CLASSES = [MixedCourseUser, MixedCampaignUser]
