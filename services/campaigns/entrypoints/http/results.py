"""Joining and results: the campaign's own QR code, its stats, leaderboard, rewards and participant export.

The join QR code is made on WeChat on demand (to publish the campaign): ``campaign:launch``. Stats and
the leaderboard are ``stats:view``; the issued codes and the participants CSV are exports of members'
data, ``member:export``, and audited. The console's paged participants are ``campaign:view``; a
member's campaigns (their invitees and rewards, codes masked) are ``member:view``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from services.campaigns.entrypoints.http.deps import ID_PATTERN, ApiDep, AppId, CampaignId, CanExport, Now, needs
from services.campaigns.entrypoints.http.schemas import (
    FunnelStepOut,
    JoinCodeOut,
    LeaderboardRowOut,
    MemberCampaignOut,
    MemberCampaignsOut,
    ParticipantOut,
    ParticipantPage,
    RewardOut,
    SharePayoutCountsOut,
    StatsOut,
    TierRewardsOut,
)
from services.campaigns.service_layer import results
from shared.identity import Permission, audit
from shared.tabular import BOM, csv_line
from shared.web import streaming_csv_response

__all__ = ["TAG", "router"]

TAG = "joining and results"
ONE = "/accounts/{appid}/campaigns/{campaign_id}"

_CSV_COLUMNS = (
    "openid", "code", "joined_at", "joined_via", "credited", "revoked", "tiers_granted", "poster_sent_at",
)  # fmt: skip

router = APIRouter(tags=[TAG])

MemberOpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="The member's openid")]


@router.get(
    ONE + "/join-qr",
    summary="The campaign's own QR code (following or scanning it joins)",
    description="Created on first request and renewed when less than a day is left (temporary codes "
    "last at most 30 days). Only for an active campaign.",
    dependencies=needs(Permission.CAMPAIGN_LAUNCH),
)
async def join_qr(appid: AppId, campaign_id: CampaignId, api: ApiDep, now: Now) -> JoinCodeOut:
    code = await results.join_code(api.campaigns, api.join_codes, appid, campaign_id, now)
    return JoinCodeOut(
        scene=code.scene, ticket=code.ticket, url=code.url, image_url=code.image_url, expires_at=code.expires_at
    )


@router.get(
    ONE + "/stats",
    summary="Participants, posters, invites, rewards, K-factor",
    dependencies=needs(Permission.STATS_VIEW),
)
async def stats(
    appid: AppId, campaign_id: CampaignId, api: ApiDep, top: Annotated[int, Query(ge=1, le=100)] = 10
) -> StatsOut:
    found = await results.stats(api.campaigns, api.stats, appid, campaign_id, top=top, pools=api.pools)
    return StatsOut(
        participants=found.participants,
        posters_sent=found.posters_sent,
        joined_via=found.joined_via,
        invites_credited=found.invites_credited,
        invites_revoked=found.invites_revoked,
        rejections=found.rejections,
        rewards_granted=found.rewards_granted,
        share_rewards_granted=found.share_rewards_granted,
        screenshots=found.screenshots,
        rewards_awaiting_stock=found.rewards_awaiting_stock,
        k_factor=found.k_factor,
        leaderboard=[LeaderboardRowOut(**row.__dict__) for row in found.leaderboard],
        funnel=[FunnelStepOut(step=s.step, count=s.count) for s in found.funnel],
        rewards_by_tier=[TierRewardsOut(**row.__dict__) for row in found.rewards_by_tier],
        invites_confirmed=found.invites_confirmed,
        invites_pending=found.invites_pending,
        share_payouts=SharePayoutCountsOut.of({} if api.payouts is None else await api.payouts.tally(campaign_id)),
    )


@router.get(ONE + "/leaderboard", summary="Top inviters by standing credit", dependencies=needs(Permission.STATS_VIEW))
async def leaderboard(
    appid: AppId, campaign_id: CampaignId, api: ApiDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[LeaderboardRowOut]:
    rows = await results.leaderboard(api.campaigns, api.stats, appid, campaign_id, limit=limit)
    return [LeaderboardRowOut(**row.__dict__) for row in rows]


@router.get(ONE + "/rewards", summary="Rewards granted, with their coupon codes")
async def rewards(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    request: Request,
    _: CanExport,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[RewardOut]:
    grants = await results.rewards(api.campaigns, api.stats, appid, campaign_id, limit=limit, offset=offset)
    # The codes are what a member redeems: who read which page of them is kept (not the codes).
    await audit(request, "campaign.rewards_exported", "campaign", campaign_id, after={"limit": limit, "offset": offset})
    return [
        RewardOut(
            openid=doc["inviter"],
            tier=doc["tier"],
            pool=doc["pool"],
            granted_at=doc["granted_at"],
            code=doc.get("code"),
            status=doc.get("status", "granted"),
        )
        for doc in grants
    ]


@router.get(
    ONE + "/participants.csv",
    summary="Every participant as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_participants(
    appid: AppId, campaign_id: CampaignId, api: ApiDep, request: Request, _: CanExport
) -> StreamingResponse:
    found, docs = await results.participants(api.campaigns, api.stats, appid, campaign_id)
    await audit(request, "campaign.participants_exported", "campaign", campaign_id)

    async def rows() -> AsyncIterator[str]:
        # Line by line, never all in memory; openids (and any text) come out as cells no spreadsheet runs.
        yield BOM + csv_line(_CSV_COLUMNS)
        async for doc in docs:
            values = [doc.get(column) for column in _CSV_COLUMNS]
            values[_CSV_COLUMNS.index("tiers_granted")] = " ".join(str(t) for t in doc.get("tiers_granted", []))
            yield csv_line(values)

    return streaming_csv_response(rows(), f"campaign-{found}-participants.csv")


@router.get(
    ONE + "/participants",
    summary="Participants, a page at a time, in join order",
    description="`q` keeps those whose openid starts with it. `total` counts every match.",
    dependencies=needs(Permission.CAMPAIGN_VIEW),
)
async def participant_page(
    appid: AppId,
    campaign_id: CampaignId,
    api: ApiDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    q: Annotated[str | None, Query(max_length=128, pattern=ID_PATTERN, description="openid prefix")] = None,
) -> ParticipantPage:
    rows, total = await results.participant_page(
        api.campaigns, api.stats, appid, campaign_id, openid_prefix=q, limit=limit, offset=offset
    )
    return ParticipantPage(
        items=[ParticipantOut(**row.__dict__) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/accounts/{appid}/members/{openid}/campaigns",
    summary="The campaigns a member joined, with their invitees and rewards",
    description="Latest join first (at most 100). Invitees: credited, revoked or refused (with the rule), "
    "at most 200 per campaign. Coupon codes are masked but for their last 4 characters.",
    dependencies=needs(Permission.MEMBER_VIEW),
)
async def member_campaigns(appid: AppId, openid: MemberOpenId, api: ApiDep) -> MemberCampaignsOut:
    found = await results.member_campaigns(api.campaigns, api.stats, appid, openid, limit=100)
    items = []
    for row, campaign in found:
        payout = None if api.payouts is None else await api.payouts.get(row.campaign_id, openid)
        items.append(MemberCampaignOut.of(row, campaign, payout))
    return MemberCampaignsOut(openid=openid, items=items)
