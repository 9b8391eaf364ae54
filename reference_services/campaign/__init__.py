"""The SaaS marketing platform: campaigns, rate-limited processing, parallel publishing."""

from reference_services.campaign.app import make_campaign_app

__all__ = ["make_campaign_app"]
