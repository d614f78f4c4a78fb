"""Activating a campaign: every problem reported at once, and warnings about what would go wrong later.

``check_activation`` answers "could it start now, and what should I know?" without changing anything
(the console's review step shows it); ``activate_campaign`` is the move itself: refused with every
problem (:class:`~services.campaigns.domain.campaign.ActivationBlocked`), or done, answered with the
same warnings (empty reward pools above all: a tier without codes makes members wait).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.campaigns.domain.activation import activation_warnings
from services.campaigns.domain.campaign import ActivationBlocked, Campaign, CampaignStatus, Problem
from services.campaigns.service_layer.management import as_stored, load_campaign
from services.campaigns.service_layer.ports import CampaignRepository, RewardPools, TemplateStore

__all__ = ["ActivationCheck", "activate_campaign", "check_activation"]

#: The account's running campaigns compared for shared join keywords (far more than any account runs).
_RUNNING_LIMIT = 200


@dataclass(frozen=True)
class ActivationCheck:
    campaign: Campaign
    #: What blocks activation; empty when it may start.
    problems: tuple[Problem, ...]
    #: What does not block it but should be known first.
    warnings: tuple[Problem, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


async def _problems(templates: TemplateStore, campaign: Campaign, now: datetime) -> list[Problem]:
    problems = campaign.activation_problems(now)
    template = campaign.template
    if template is not None and await templates.get(campaign.id, template.image_id) is None:
        problems.insert(0, Problem("template", "the poster image is no longer stored: upload it again"))
    return problems


async def _warnings(
    campaigns: CampaignRepository, pools: RewardPools, campaign: Campaign, now: datetime
) -> list[Problem]:
    remaining = {stock.pool: stock.remaining for stock in await pools.stock(campaign.id)}
    running = await campaigns.list(campaign.appid, status=CampaignStatus.ACTIVE, limit=_RUNNING_LIMIT)
    return activation_warnings(campaign, remaining, running, now)


async def check_activation(
    campaigns: CampaignRepository,
    pools: RewardPools,
    templates: TemplateStore,
    appid: str,
    campaign_id: str,
    now: datetime,
) -> ActivationCheck:
    """What would keep the campaign from starting now (its status too), and the warnings; changes nothing."""
    campaign = await load_campaign(campaigns, appid, campaign_id)
    problems = await _problems(templates, campaign, now)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
        problems.insert(0, Problem("status", f"the campaign is {campaign.status}; only a draft or a paused one starts"))
    return ActivationCheck(campaign, tuple(problems), tuple(await _warnings(campaigns, pools, campaign, now)))


async def activate_campaign(
    campaigns: CampaignRepository,
    pools: RewardPools,
    templates: TemplateStore,
    appid: str,
    campaign_id: str,
    expected_version: int | None,
    now: datetime,
) -> ActivationCheck:
    """Start a draft or resume a paused campaign. A status that does not allow it is
    :class:`~services.campaigns.domain.campaign.IllegalTransition` (409); anything else in the way is
    :class:`ActivationBlocked` with every problem. Answered with the warnings as they stand once active."""
    campaign = await load_campaign(campaigns, appid, campaign_id, expected_version)
    stored_now = as_stored(now)
    problems = await _problems(templates, campaign, stored_now)
    if problems and campaign.status in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
        raise ActivationBlocked(problems)
    campaign.activate(stored_now)
    await campaigns.save(campaign)
    return ActivationCheck(campaign, (), tuple(await _warnings(campaigns, pools, campaign, stored_now)))
