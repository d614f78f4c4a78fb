"""Delayed share-reward payouts (issue 21 item 7): where each approved member's reward stands.

``campaign:view``, read only: payouts move by the worker's sweep and the members' re-check
screenshots, never by hand.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from services.campaigns.domain.payouts import PayoutState
from services.campaigns.entrypoints.http.deps import ID_PATTERN, ApiDep, AppId, CampaignId, needs
from services.campaigns.entrypoints.http.schemas import SharePayoutCountsOut, SharePayoutOut, SharePayoutPage
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import SharePayoutStore
from shared.identity import Permission

__all__ = ["TAG", "router"]

TAG = "share payouts"
ONE = "/accounts/{appid}/campaigns/{campaign_id}/share-payouts"

router = APIRouter(tags=[TAG])

MemberOpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="The member's openid")]


def _store(api: ApiDep) -> SharePayoutStore:
    if api.payouts is None:
        raise HTTPException(404, "share payouts are not kept by this deployment")
    return api.payouts


@router.get(
    ONE,
    summary="Share-reward payouts of the campaign, oldest approval first, with counts by state",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def payouts(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    state: PayoutState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SharePayoutPage:
    store = _store(api)
    await load_campaign(api.campaigns, appid, campaign_id)
    found = await store.listing(campaign_id, state=None if state is None else state.value, limit=limit, offset=offset)
    return SharePayoutPage(
        items=[SharePayoutOut.of(payout) for payout in found],
        counts=SharePayoutCountsOut.of(await store.tally(campaign_id)),
        limit=limit,
        offset=offset,
    )


@router.get(ONE + "/{openid}", summary="One member's share-reward payout", dependencies=needs(Permission.CAMPAIGN_VIEW))
async def payout(appid: AppId, campaign_id: CampaignId, openid: MemberOpenId, api: ApiDep) -> SharePayoutOut:
    store = _store(api)
    await load_campaign(api.campaigns, appid, campaign_id)
    found = await store.get(campaign_id, openid)
    if found is None:
        raise HTTPException(404, f"no share payout for {openid!r} in this campaign")
    return SharePayoutOut.of(found)
