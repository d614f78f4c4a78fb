"""Filling a campaign's reward pools and reading their stock.

A pool is named by the tiers that draw from it; its stock is reported for every pool a tier names
(empty until codes arrive) and every pool that has codes. An ended campaign's pools are closed: it
will never grant again, so codes added to it would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.campaigns.domain.campaign import Campaign, CampaignStatus, EditNotAllowed
from services.campaigns.domain.rewards import ParsedCodes, PoolStock
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import AddedCodes, CampaignRepository, RewardPools

__all__ = ["PoolReport", "add_codes", "generate_codes", "pool_stock", "stock_of"]


@dataclass(frozen=True)
class PoolReport:
    stock: PoolStock
    #: The tier counts that draw from this pool.
    tiers: tuple[int, ...]


async def stock_of(pools: RewardPools, campaign: Campaign, only: str | None = None) -> list[PoolReport]:
    """Every pool of the campaign by name (or just ``only``), with the tiers that draw from it."""
    stocks = {stock.pool: stock for stock in await pools.stock(campaign.id)}
    for tier in campaign.tiers:
        stocks.setdefault(tier.pool, PoolStock(tier.pool, 0, 0))
    if only is not None:
        stocks.setdefault(only, PoolStock(only, 0, 0))
    return [
        PoolReport(stock, tuple(tier.count for tier in campaign.tiers if tier.pool == name))
        for name, stock in sorted(stocks.items())
        if only is None or name == only
    ]


async def pool_stock(
    campaigns: CampaignRepository, pools: RewardPools, appid: str, campaign_id: str
) -> list[PoolReport]:
    return await stock_of(pools, await load_campaign(campaigns, appid, campaign_id))


async def add_codes(
    campaigns: CampaignRepository, pools: RewardPools, appid: str, campaign_id: str, pool: str, parsed: ParsedCodes
) -> tuple[AddedCodes, PoolReport]:
    """Put an upload's valid codes into ``pool``; codes it has already are left as they are."""
    campaign = await _open(campaigns, appid, campaign_id)
    added = await pools.add_codes(campaign.id, pool, parsed.codes)
    (report,) = await stock_of(pools, campaign, pool)
    return added, report


async def generate_codes(
    campaigns: CampaignRepository, pools: RewardPools, appid: str, campaign_id: str, pool: str, count: int
) -> tuple[int, PoolReport]:
    """Add ``count`` generated codes to ``pool``."""
    campaign = await _open(campaigns, appid, campaign_id)
    added = await pools.generate(campaign.id, pool, count)
    (report,) = await stock_of(pools, campaign, pool)
    return added, report


async def _open(campaigns: CampaignRepository, appid: str, campaign_id: str) -> Campaign:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    if campaign.status is CampaignStatus.ENDED:
        raise EditNotAllowed("the campaign has ended; its reward pools are closed")
    return campaign
