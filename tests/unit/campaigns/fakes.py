"""Test doubles for the campaign ports: recorders and failure injectors over the in-memory adapters
(``services.campaigns.adapters.memory``), and a stand-in for the join code, which needs the platform."""

from __future__ import annotations

from datetime import datetime

from services.campaigns.adapters.memory import InMemoryCampaigns, InMemoryTemplates
from services.campaigns.domain.campaign import Campaign, VersionConflict
from services.campaigns.service_layer.ports import JoinCode, JoinCodes


class RacingCampaigns(InMemoryCampaigns):
    """Campaigns whose next save can be made to lose a race with someone else's."""

    def __init__(self) -> None:
        super().__init__()
        self.conflict_next_save = False

    async def save(self, campaign: Campaign) -> None:
        if self.conflict_next_save:
            self.conflict_next_save = False
            raise VersionConflict(f"campaign {campaign.id!r} changed since version {campaign.version} was read")
        await super().save(campaign)


class RecordingTemplates(InMemoryTemplates):
    """Template images, remembering which were deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    async def delete(self, image_id: str) -> None:
        self.deleted.append(image_id)
        await super().delete(image_id)


class StubJoinCodes(JoinCodes):
    """A fixed join code per campaign, remembering who asked (``MongoJoinCodes`` asks WeChat for one)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def current(self, appid: str, campaign_id: str, *, ends_at: datetime, now: datetime) -> JoinCode:
        self.asked.append(campaign_id)
        return JoinCode(campaign_id, f"j.{campaign_id}", "ticket", "http://weixin.qq.com/q/j", "https://qr/j", ends_at)
