"""Delayed share-reward payouts: started by an approval, moved on by a timer sweep and the re-check.

An approval in a campaign whose ``share_payout`` is not immediate records a payout instead of the
reward (:func:`start`); the campaigns worker's sweep (:func:`sweep`, every ``CREDIT_CONFIRM_SECONDS``,
and ``scrm campaigns pay-shares``) asks for the re-check when it is due, lets an unanswered one expire,
and pays what is due. Each move is one unit of work: the payout's conditional move, the reward's grant
(its unique key is the share reward's: paid once however often the sweep runs), the event reporting
it and the member's notice. The re-check screenshot itself is judged in :mod:`.share_screenshots`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from services.campaigns.domain import activity
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.participants import Notice, reward_id
from services.campaigns.domain.payouts import (
    IllegalPayoutMove,
    PayoutState,
    SharePayout,
    Step,
    open_payout,
)
from services.campaigns.domain.referrals import render_message
from services.campaigns.service_layer.ports import ReferralUnitOfWork, SharePayoutStore, ShareTaskCampaigns
from shared.contracts import CAMPAIGN_ACTIVITY

__all__ = [
    "EXPIRED_REASON",
    "REASON_TEXTS",
    "SHARE_REWARD_TIER",
    "Moved",
    "forfeited_notice",
    "payout_notice",
    "start",
    "sweep",
]

log = structlog.get_logger("campaigns.share_payouts")

#: The share reward is recorded with the tier rewards under tier 0 (as in :mod:`.share_screenshots`).
SHARE_REWARD_TIER = 0
EXPIRED_REASON = "recheck_expired"
#: What the member reads when a re-check fails or is not sent (the verifier's own reasons read as theirs).
REASON_TEXTS = {
    EXPIRED_REASON: "未在期限内发送复查截图",
    "posted_again": "复查截图中的朋友圈是重新发布的，不是原来那一条",
    "not_same_post": "复查截图与第一次的不是同一条朋友圈",
    "not_fresh": "请发送现在重新截取的截图，而不是第一次的那张",
}


def payout_notice(payout: SharePayout, kind: str, text: str, event_id: str, at: datetime) -> Notice:
    return Notice(
        id=f"{payout.campaign_id}:{payout.openid}:{kind}:{event_id}",
        campaign_id=payout.campaign_id,
        appid=payout.appid,
        openid=payout.openid,
        kind=kind,
        text=text,
        created_at=at,
        event_id=event_id,
    )


def forfeited_notice(campaign: Campaign, payout: SharePayout, reason: str, event_id: str, at: datetime) -> Notice:
    text = campaign.messages.render("share_forfeited", campaign=campaign.name, reason=REASON_TEXTS.get(reason, reason))
    return payout_notice(payout, "share-forfeited", text, event_id, at)


async def start(
    uow: ReferralUnitOfWork, campaign: Campaign, openid: str, submission_id: str, event_id: str, now: datetime
) -> bool:
    """Record the payout of an approved share screenshot, in the caller's transaction, and queue the
    reply saying when it is paid. False when the member has a payout in the campaign already."""
    pool = campaign.share_reward_pool
    assert pool is not None  # the campaign refuses a delayed payout without a pool
    policy = campaign.share_payout
    payout = open_payout(
        policy,
        campaign_id=campaign.id,
        appid=campaign.appid,
        openid=openid,
        pool=pool,
        submission_id=submission_id,
        approved_at=now,
    )
    if not await uow.payouts.open(payout):
        return False
    hours = policy.delay_hours
    if payout.recheck_at is not None:
        hours = max(hours, policy.recheck_after_hours)
    text = campaign.messages.render("share_pending", campaign=campaign.name, hours=hours)
    await uow.store.add_notice(payout_notice(payout, "share-pending", text, event_id, now))
    return True


@dataclass(frozen=True)
class Moved:
    """A payout the sweep moved: what it did, and the id its notices are queued under."""

    payout: SharePayout
    step: Step
    event_id: str


def step_event_id(payout: SharePayout, step: Step) -> str:
    """One move of each kind per payout: its notices derive their ids from this."""
    return f"payout:{step.value}:{payout.id}"


async def sweep(
    now: datetime,
    reads: SharePayoutStore,
    uow_factory: Callable[[], ReferralUnitOfWork],
    campaigns: ShareTaskCampaigns,
    *,
    due_by: datetime | None = None,
    limit: int = 200,
) -> list[Moved]:
    """Move the payouts due by ``due_by`` (default ``now``), each in its own unit of work; what is
    written is stamped ``now``. Safe to repeat and to run in several workers: a move is conditional on
    the state read, so of two sweeps one moves a payout and the other skips it."""
    judged_at = now if due_by is None else due_by
    moved: list[Moved] = []
    for payout in await reads.due(judged_at, limit):
        step = payout.step(judged_at)
        if step is None:
            continue
        campaign = await campaigns.campaign(payout.appid, payout.campaign_id)
        if campaign is None:
            continue
        event_id = step_event_id(payout, step)
        async with uow_factory() as uow:
            try:
                after = _moved(payout, step, campaign, now)
            except IllegalPayoutMove:
                continue
            if not await uow.payouts.move(payout, after):
                continue  # moved meanwhile (another sweep, or the member's re-check)
            await _effects(uow, campaign, after, step, event_id, now)
            await uow.commit()
        moved.append(Moved(after, step, event_id))
        log.info("share payout moved", campaign=payout.campaign_id, step=step.value, state=after.state.value)
    return moved


def _moved(payout: SharePayout, step: Step, campaign: Campaign, now: datetime) -> SharePayout:
    match step:
        case Step.ASK:
            return payout.ask(now, campaign.share_payout.recheck_deadline_hours)
        case Step.EXPIRE:
            return replace(payout.expire(now), recheck_reasons=(EXPIRED_REASON,))
        case Step.PAY:
            return payout.pay(now)


async def _effects(
    uow: ReferralUnitOfWork, campaign: Campaign, payout: SharePayout, step: Step, event_id: str, now: datetime
) -> None:
    match step:
        case Step.ASK:
            hours = campaign.share_payout.recheck_deadline_hours
            text = campaign.messages.render("share_recheck", campaign=campaign.name, hours=hours)
            await uow.store.add_notice(payout_notice(payout, "share-recheck", text, event_id, now))
        case Step.EXPIRE:
            await uow.store.add_notice(forfeited_notice(campaign, payout, EXPIRED_REASON, event_id, now))
        case Step.PAY:
            await pay(uow, campaign, payout, event_id, now)


async def pay(uow: ReferralUnitOfWork, campaign: Campaign, payout: SharePayout, event_id: str, now: datetime) -> None:
    """The share reward's grant (its one key per member and campaign), its event and the reply with
    the code (drawn at delivery), in the caller's transaction."""
    assert payout.state is PayoutState.PAID
    if not await uow.store.grant_reward(campaign.id, payout.openid, SHARE_REWARD_TIER, payout.pool, now):
        return  # granted already: never twice
    await uow.emit(CAMPAIGN_ACTIVITY, activity.share_reward_granted(campaign.appid, campaign.id, payout.openid, now))
    text = render_message(campaign.messages.share_approved, campaign=campaign.name)  # {code} filled at delivery
    notice = payout_notice(payout, "share-approved", text, event_id, now)
    grant = reward_id(campaign.id, payout.openid, SHARE_REWARD_TIER)
    await uow.store.add_notice(replace(notice, reward_id=grant, reward_pool=payout.pool))
