"""The referral graph: kept up to date from the pushes the worker handles, read for review, and the
freeze of an inviter pending review.

The worker calls :func:`observe` for every push after the campaign flows have handled it. Every step
is idempotent (an edge is derived from the committed invitation, a variant's scan is counted once per
push), so a redelivered push, or a crash between the credit and this step, leaves the graph right:
the redelivery runs this step again. :func:`backfill` derives the edges of credits recorded before
the graph existed.

Flags are computed from the edges when asked (:func:`flags_view`) and kept with their review state
(``domain/flag_reviews.py``): a flag dismissed stays dismissed however often it is computed again, and
:func:`review_flag` records a person's decision on one.

A frozen inviter keeps being credited (nothing is lost), but no tier reward is granted while the
freeze lasts (the referral flow asks :meth:`ReferralStore.inviter_frozen`). :func:`release` lifts it
and grants the tiers the inviter's credits reached meanwhile; their notices are held for the
member's next interaction (the API has no open customer-service window to send them in).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.campaigns.domain import activity
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.flag_reviews import FlagReview, ReviewRefused, observed, parse_flag_id, reviewed
from services.campaigns.domain.graph import Edge, Flag, FlagRules, InviterSummary, find_flags, summarise_inviters
from services.campaigns.domain.participants import Invitation, Notice, reward_id
from services.campaigns.domain.referrals import ReferralScene, Tier, render_message, tiers_to_grant
from services.campaigns.domain.variants import PRIMARY
from services.campaigns.service_layer.ports import (
    CampaignRepository,
    Freeze,
    PosterVariants,
    ReferralGraph,
    ReferralStore,
    ReferralUnitOfWork,
)
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    ImageMessageReceived,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    QrCodeScanned,
    TextMessageReceived,
)
from shared.events import Envelope, Message

__all__ = [
    "AlreadyFrozen",
    "FlagNotFound",
    "FlagsView",
    "GraphView",
    "NotFrozen",
    "backfill",
    "edge_of",
    "flags_view",
    "freeze",
    "graph_view",
    "observe",
    "release",
    "review_flag",
]


class AlreadyFrozen(Exception):
    """The inviter is frozen already (409)."""


class NotFrozen(Exception):
    """The inviter is not frozen (409)."""


class FlagNotFound(LookupError):
    """No flag of that id kept for the account (404)."""


#: A follow and its invitation are the same moment; MongoDB keeps milliseconds.
_SAME_MOMENT = timedelta(milliseconds=1)


def edge_of(appid: str, invitation: Invitation, variant: str | None = None) -> Edge:
    return Edge(
        appid=appid,
        campaign_id=invitation.campaign_id,
        inviter=invitation.inviter,
        invitee=invitation.invitee,
        credited_at=invitation.credited_at,
        status=invitation.status,
        variant=variant or invitation.variant,
    )


async def observe(
    envelope: Envelope,
    message: Message,
    *,
    store: ReferralStore,
    graph: ReferralGraph,
    variants: PosterVariants | None,
) -> None:
    """Bring the graph (and the poster variants' counts) up to date with one handled push."""
    appid = envelope.appid
    match message:
        case MemberFollowed(openid=openid, scene=scene, followed_at=at):
            await _through_code(envelope, openid, scene, at, follow=True, store=store, graph=graph, variants=variants)
        case QrCodeScanned(openid=openid, scene=scene, scanned_at=at):
            await graph.note_interaction(appid, openid, at)
            await _through_code(envelope, openid, scene, at, follow=False, store=store, graph=graph, variants=variants)
        case TextMessageReceived(openid=openid, received_at=at) | ImageMessageReceived(openid=openid, received_at=at):
            await graph.note_interaction(appid, openid, at)
        case MenuClicked(openid=openid, clicked_at=at):
            await graph.note_interaction(appid, openid, at)
        case MemberUnfollowed(openid=openid, unfollowed_at=at):
            for edge in await graph.note_unfollow(appid, openid, at):
                if edge.status == "credited":  # the flow may have taken the credit back just now
                    invitation = await store.invitation(edge.campaign_id, openid)
                    if invitation is not None and invitation.status != edge.status:
                        await graph.set_status(edge.campaign_id, openid, invitation.status)


async def _through_code(
    envelope: Envelope,
    openid: str,
    scene: str | None,
    at: datetime,
    *,
    follow: bool,
    store: ReferralStore,
    graph: ReferralGraph,
    variants: PosterVariants | None,
) -> None:
    referral = ReferralScene.decode(scene)
    if referral is None:
        return
    inviter = await store.participant_by_code(referral.campaign_id, referral.participant_code)
    if inviter is None or inviter.appid != envelope.appid:
        return
    variant = referral.variant or PRIMARY
    credited = False
    if follow:
        invitation = await store.invitation(referral.campaign_id, openid)
        credited = (
            invitation is not None
            and invitation.inviter == inviter.openid
            and abs(invitation.followed_at - at) < _SAME_MOMENT
        )
        if invitation is not None and credited:
            await graph.record_edge(edge_of(envelope.appid, invitation, variant))
    if variants is not None:
        await variants.count_scan(referral.campaign_id, envelope.event_id, variant, follow=follow, credited=credited)


async def backfill(campaigns: CampaignRepository, graph: ReferralGraph, appid: str) -> int:
    """Edges for every invitation of the account's campaigns (those from before the graph); how many
    were new. Safe to repeat. Their variant is the one kept on the invitation (empty for credits from
    before invitations kept it)."""
    added = 0
    for campaign in await campaigns.list(appid, limit=10_000):
        for invitation in await graph.invitations(campaign.id):
            added += await graph.record_edge(edge_of(appid, invitation))
    return added


@dataclass(frozen=True)
class GraphView:
    edges: list[Edge]
    inviters: list[InviterSummary]
    flags: list[Flag]
    frozen: set[str]


async def graph_view(graph: ReferralGraph, appid: str, now: datetime, rules: FlagRules | None = None) -> GraphView:
    edges = await graph.edges(appid)
    frozen = {f.openid for f in await graph.freezes(appid, status="frozen")}
    return GraphView(edges, summarise_inviters(edges), find_flags(edges, now, rules), frozen)


@dataclass(frozen=True)
class FlagsView:
    """The flags found now with their reviews, the stored ones not found now, and who is frozen."""

    current: list[tuple[Flag, FlagReview]]
    gone: list[FlagReview]
    frozen: set[str]


async def flags_view(graph: ReferralGraph, appid: str, now: datetime, rules: FlagRules | None = None) -> FlagsView:
    """Compute the account's flags and keep them: new ones open, known ones with their review as it was,
    those no longer found marked not current."""
    view = await graph_view(graph, appid, now, rules)
    stored = {review.id: review for review in await graph.flag_reviews(appid)}
    current, gone_now = observed(appid, view.flags, stored, now)
    await graph.keep_flags([review for _, review in current] + gone_now)
    found = {review.id for _, review in current}
    gone = [replace(review, current=False) for key, review in stored.items() if key not in found]
    return FlagsView(current, sorted(gone, key=lambda r: r.at, reverse=True), view.frozen)


async def review_flag(
    graph: ReferralGraph, appid: str, flag_id: str, status: str, by: str, now: datetime, note: str = ""
) -> tuple[FlagReview, FlagReview]:
    """Record a person's decision on a kept flag; (before, after). Raises :class:`FlagNotFound`, and
    :class:`~services.campaigns.domain.flag_reviews.ReviewRefused` when it is in that state already
    (or another reviewer decided it meanwhile)."""
    if parse_flag_id(flag_id) is None:
        raise FlagNotFound(f"no flag {flag_id!r}")
    before = next((r for r in await graph.flag_reviews(appid) if r.id == flag_id), None)
    if before is None:
        raise FlagNotFound(f"no flag {flag_id!r} is kept for {appid}: list the flags first")
    after = reviewed(before, status, by, now, note)
    if not await graph.review_flag(after, before.status):
        raise ReviewRefused(f"the flag {flag_id} was reviewed meanwhile: read it again")
    return before, after


async def freeze(graph: ReferralGraph, appid: str, openid: str, reason: str, by: str, now: datetime) -> Freeze:
    """Hold the inviter's tier rewards pending review (their credits still count)."""
    frozen = await graph.freeze(Freeze(appid, openid, "frozen", reason, by, now))
    if frozen is None:
        raise AlreadyFrozen(f"{openid} is frozen already")
    return frozen


async def release(
    graph: ReferralGraph,
    campaigns: CampaignRepository,
    uow: ReferralUnitOfWork,
    appid: str,
    openid: str,
    by: str,
    now: datetime,
) -> tuple[Freeze, list[tuple[str, int]]]:
    """Lift the freeze and grant, in each campaign the member invited in, the tiers reached meanwhile."""
    released = await graph.release(appid, openid, by, now)
    if released is None:
        raise NotFrozen(f"{openid} is not frozen")
    granted: list[tuple[str, int]] = []
    campaign_ids = sorted({edge.campaign_id for edge in await graph.edges(appid, inviter=openid)})
    for campaign_id in campaign_ids:
        campaign = await campaigns.get(appid, campaign_id)
        if campaign is not None:
            granted += [(campaign_id, tier) for tier in await _grant_held(uow, campaign, openid, now)]
    return released, granted


async def _grant_held(uow: ReferralUnitOfWork, campaign: Campaign, openid: str, now: datetime) -> list[int]:
    tiers = [Tier(tier.count, tier.pool) for tier in campaign.tiers]
    granted: list[int] = []
    async with uow:
        inviter = await uow.store.participant(campaign.id, openid)
        if inviter is None:
            return granted
        for tier in tiers_to_grant(tiers, inviter.confirmed, inviter.tiers_granted):
            if not await uow.store.grant_reward(campaign.id, openid, tier.invites, tier.reward_pool, now):
                continue
            inviter.tiers_granted.append(tier.invites)
            granted.append(tier.invites)
            number = activity.tier_number(tiers, tier.invites)
            for reported in (
                activity.tier_reached(campaign.appid, campaign.id, openid, number, now),
                activity.reward_granted(campaign.appid, campaign.id, openid, number, now),
            ):
                await uow.emit(CAMPAIGN_ACTIVITY, reported)
            text = render_message(campaign.messages.tier_reached, count=inviter.confirmed, campaign=campaign.name)
            await uow.store.add_notice(
                Notice(
                    id=f"{campaign.id}:{openid}:tier-{tier.invites}:released",
                    campaign_id=campaign.id,
                    appid=campaign.appid,
                    openid=openid,
                    kind=f"tier-{tier.invites}",
                    text=text,
                    created_at=now,
                    status="held",
                    reward_id=reward_id(campaign.id, openid, tier.invites),
                    reward_pool=tier.reward_pool,
                )
            )
        if granted:
            await uow.store.save_participant(inviter)
        await uow.commit()
    return granted
