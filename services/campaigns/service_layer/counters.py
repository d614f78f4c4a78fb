"""Rebuilding the stats counters from the records: once for campaigns from before the counters, and
whenever they need repair. Safe to repeat and to run beside the workers: a scope whose counts change
while it is recounted is recounted again (see ``MongoCounters.rebuild``)."""

from __future__ import annotations

from dataclasses import dataclass

from services.campaigns.service_layer.ports import CounterRebuild

__all__ = ["Rebuilt", "rebuild_counters"]


@dataclass(frozen=True)
class Rebuilt:
    campaigns: int
    accounts: int


async def rebuild_counters(rebuild: CounterRebuild, *, appid: str | None = None) -> Rebuilt:
    """Recount every campaign (of ``appid``, or of every account) and each account's screenshots."""
    campaigns = await rebuild.campaigns(appid)
    for _, campaign_id in campaigns:
        await rebuild.rebuild_campaign(campaign_id)
    accounts = sorted({account for account, _ in campaigns} | ({appid} if appid is not None else set()))
    for account in accounts:
        await rebuild.rebuild_account(account)
    return Rebuilt(campaigns=len(campaigns), accounts=len(accounts))
