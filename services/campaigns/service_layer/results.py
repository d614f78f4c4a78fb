"""A campaign's join QR code and what it achieved: stats, leaderboard, rewards, the participant export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.campaigns.domain.campaign import Campaign, CampaignError, CampaignStatus
from services.campaigns.domain.results import (
    CampaignStats,
    LeaderboardRow,
    MemberCampaign,
    ParticipantRow,
    rewards_by_tier,
)
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import (
    CampaignRepository,
    CampaignResults,
    JoinCode,
    JoinCodes,
    RewardPools,
)

__all__ = [
    "JoinCodeUnavailable",
    "join_code",
    "leaderboard",
    "member_campaigns",
    "participant_page",
    "participants",
    "rewards",
    "stats",
]


class JoinCodeUnavailable(CampaignError):
    """The campaign cannot be joined through its own QR code now (not active, or switched off)."""


async def join_code(
    campaigns: CampaignRepository, codes: JoinCodes, appid: str, campaign_id: str, now: datetime
) -> JoinCode:
    """The campaign's current join QR code, created or renewed if needed. Only for an active campaign."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE:
        raise JoinCodeUnavailable(f"the campaign is {campaign.status}; activate it first")
    if not campaign.join.follow_qr:
        raise JoinCodeUnavailable("joining through the campaign's QR code is switched off (join.follow_qr)")
    return await codes.current(appid, campaign.id, ends_at=campaign.ends_at, now=now)


async def stats(
    campaigns: CampaignRepository,
    results: CampaignResults,
    appid: str,
    campaign_id: str,
    *,
    top: int,
    pools: RewardPools | None = None,
) -> CampaignStats:
    """The campaign's stats; with ``pools``, also each tier's rewards next to its pool's stock."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    found = await results.of(campaign.id, top=top)
    if pools is None:
        return found
    stock = {held.pool: held for held in await pools.stock(campaign.id)}
    tiers = [(tier.count, tier.pool) for tier in campaign.tiers]
    return replace(found, rewards_by_tier=rewards_by_tier(tiers, found.tier_rewards, stock))


async def leaderboard(
    campaigns: CampaignRepository, results: CampaignResults, appid: str, campaign_id: str, *, limit: int
) -> list[LeaderboardRow]:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    return await results.leaderboard(campaign.id, limit=limit)


async def rewards(
    campaigns: CampaignRepository, results: CampaignResults, appid: str, campaign_id: str, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    return await results.rewards(campaign.id, limit=limit, offset=offset)


async def participants(
    campaigns: CampaignRepository, results: CampaignResults, appid: str, campaign_id: str
) -> tuple[str, AsyncIterator[dict[str, Any]]]:
    """The campaign's id and its participants, streamed: the campaign is checked before the stream starts."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    return campaign.id, results.participants(campaign.id)


async def participant_page(
    campaigns: CampaignRepository,
    results: CampaignResults,
    appid: str,
    campaign_id: str,
    *,
    openid_prefix: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ParticipantRow], int]:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    return await results.participant_page(campaign.id, openid_prefix=openid_prefix, limit=limit, offset=offset)


async def member_campaigns(
    campaigns: CampaignRepository, results: CampaignResults, appid: str, openid: str, *, limit: int
) -> list[tuple[MemberCampaign, Campaign | None]]:
    """The campaigns the member joined in ``appid``, latest first, each with its campaign (None if it is
    gone)."""
    joined = await results.member_campaigns(appid, openid, limit=limit)
    return [(found, await campaigns.get(appid, found.campaign_id)) for found in joined]
