"""Crediting referrals: a follow through a member's code, and an unfollow that takes credit back.

Each handler applies one event once (processed-event claim in the same transaction as its effects)
and queues the notices to send as records in the same transaction; sending them is a separate step
(`deliver_notices`) that can be retried without touching the credit. What they record (the scan of a
poster code, a credit, a revocation, a tier and its reward) is emitted on ``campaigns.activity`` in
that same transaction (the outbox). Once a credit or a revocation has committed, the inviter's new
standing is announced (see :mod:`.participation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from services.campaigns.domain import activity
from services.campaigns.domain.participants import Invitation, Notice, Participant, day_start, reward_id
from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.domain.referrals import (
    CampaignView,
    FollowFacts,
    ReferralScene,
    Rejection,
    confirms_at,
    decide_credit,
    next_target,
    progress_text,
    render_message,
    should_revoke,
    tiers_to_grant,
)
from services.campaigns.domain.variants import PRIMARY
from services.campaigns.service_layer.participation import announce
from services.campaigns.service_layer.ports import (
    CampaignDirectory,
    ParticipationAnnouncer,
    ReferralStore,
    ReferralUnitOfWork,
)
from shared.contracts import CAMPAIGN_ACTIVITY, MemberFollowed, MemberUnfollowed
from shared.events import Envelope

CONSUMER = "campaigns.referrals"


@dataclass(frozen=True)
class CreditOutcome:
    credited: bool
    reason: Rejection | None = None
    tiers_granted: tuple[int, ...] = ()


async def credit_follow(
    envelope: Envelope,
    event: MemberFollowed,
    uow: ReferralUnitOfWork,
    campaigns: CampaignDirectory,
    announcer: ParticipationAnnouncer | None = None,
) -> CreditOutcome | None:
    """Credit the inviter whose code the new follower came through. None: not a referral (or a redelivery)."""
    async with uow:
        if not await uow.claim(CONSUMER, envelope.event_id):
            return None
        store = uow.store
        is_new = await store.remember_follower(envelope.appid, event.openid, event.followed_at)
        scene = ReferralScene.decode(event.scene)
        campaign = await campaigns.find(envelope.appid, scene.campaign_id) if scene else None
        inviter = (
            await store.participant_by_code(campaign.campaign_id, scene.participant_code)
            if campaign and scene
            else None
        )
        if campaign is None or inviter is None or campaign.appid != envelope.appid:
            await uow.commit()  # the follow is remembered either way: it decides "new follower" later
            return None
        appid = envelope.appid
        scanned = activity.poster_scanned(
            appid,
            campaign.campaign_id,
            openid=event.openid,
            inviter=inviter.openid,
            new_follower=is_new,
            at=event.followed_at,
            source_event_id=envelope.event_id,
        )
        await uow.emit(CAMPAIGN_ACTIVITY, scanned)
        facts = FollowFacts(
            inviter=inviter.openid,
            invitee=event.openid,
            followed_at=event.followed_at,
            invitee_is_new=is_new,
            invitee_already_invited=await store.invitation(campaign.campaign_id, event.openid) is not None,
            inviter_credits_today=await store.credits_since(
                campaign.campaign_id, inviter.openid, day_start(event.followed_at)
            ),
        )
        reason = decide_credit(campaign.rules, facts)
        if reason is not None:
            await store.record_rejection(campaign.campaign_id, inviter.openid, event.openid, reason, event.followed_at)
            await uow.commit()
            return CreditOutcome(credited=False, reason=reason)
        pending_until = confirms_at(campaign.rules, event.followed_at)
        await store.add_invitation(
            Invitation(
                campaign_id=campaign.campaign_id,
                inviter=inviter.openid,
                invitee=event.openid,
                status="credited",
                followed_at=event.followed_at,
                credited_at=event.followed_at,
                confirms_at=pending_until,
                confirmed_at=event.followed_at if pending_until is None else None,
                # Kept on the credit so its confirmation counts for the poster variant it came through.
                variant=(scene.variant if scene else None) or PRIMARY,
            )
        )
        credited = activity.invite_credited(
            appid, campaign.campaign_id, inviter=inviter.openid, invitee=event.openid, at=event.followed_at
        )
        await uow.emit(CAMPAIGN_ACTIVITY, credited)
        inviter.credited += 1
        if pending_until is None:
            inviter.confirmed += 1
        granted = await _grant_tiers(uow, campaign, inviter, envelope.event_id, event.followed_at)
        await _queue_progress(uow, campaign, inviter, envelope.event_id, event.followed_at)
        await store.save_participant(inviter)
        await uow.commit()
    await announce(announcer, [ParticipationChange.of(inviter, event.followed_at)])
    return CreditOutcome(credited=True, tiers_granted=granted)


async def revoke_on_unfollow(
    envelope: Envelope,
    event: MemberUnfollowed,
    uow: ReferralUnitOfWork,
    campaigns: CampaignDirectory,
    announcer: ParticipationAnnouncer | None = None,
) -> list[str]:
    """Take back credit in every campaign where this member was credited within the window."""
    revoked: list[str] = []
    changes: list[ParticipationChange] = []
    async with uow:
        if not await uow.claim(CONSUMER, envelope.event_id):
            return revoked
        store = uow.store
        for invitation in await store.credited_invitations_of(event.openid):
            campaign_id = invitation.campaign_id
            campaign = await campaigns.find(envelope.appid, campaign_id)
            if campaign is None:
                continue
            if not should_revoke(campaign.rules, invitation.credited_at, event.unfollowed_at):
                continue
            if not await store.revoke_invitation(campaign_id, event.openid, event.unfollowed_at):
                continue
            revocation = activity.credit_revoked(
                envelope.appid, campaign_id, inviter=invitation.inviter, invitee=event.openid, at=event.unfollowed_at
            )
            await uow.emit(CAMPAIGN_ACTIVITY, revocation)
            inviter = await store.participant(campaign_id, invitation.inviter)
            if inviter is None:
                continue
            inviter.credited -= 1
            inviter.revoked += 1
            if invitation.confirms_at is None:  # a confirmed credit taken back by a late unfollow
                inviter.confirmed = max(0, inviter.confirmed - 1)
            await store.save_participant(inviter)
            await store.add_notice(
                _notice(
                    envelope.event_id,
                    campaign,
                    inviter,
                    "revoked",
                    render_message(campaign.texts.revoked, count=inviter.credited),
                    event.unfollowed_at,
                )
            )
            revoked.append(campaign_id)
            changes.append(ParticipationChange.of(inviter, event.unfollowed_at))
        await uow.commit()
    await announce(announcer, changes)
    return revoked


@dataclass(frozen=True)
class Confirmed:
    """A pending credit confirmed: whose, and the tiers it unlocked."""

    campaign_id: str
    inviter: str
    invitee: str
    tiers_granted: tuple[int, ...]
    #: The id the confirmation's notices are queued under (deliver them with ``queued_by``).
    event_id: str


def confirmation_event_id(campaign_id: str, invitee: str) -> str:
    """One confirmation per credit: its notices' ids derive from this, so a retried sweep adds none."""
    return f"confirm:{campaign_id}:{invitee}"


async def confirm_due(
    now: datetime,
    reads: ReferralStore,
    uow_factory: Callable[[], ReferralUnitOfWork],
    campaigns: CampaignDirectory,
    announcer: ParticipationAnnouncer | None = None,
    *,
    due_by: datetime | None = None,
    limit: int = 200,
) -> list[Confirmed]:
    """Confirm the pending credits whose revocation window has passed, oldest first, each in its own
    unit of work: the credit starts counting toward the inviter's tiers, a tier reached is granted (and
    its notice queued), and the new standing is announced.

    ``due_by`` (default ``now``) is the time windows must have closed by; what is written is stamped
    ``now``. Safe to repeat and to run in several workers at once: a credit is confirmed by a conditional write
    (still credited, still pending), so one of two sweeps confirms it and the other skips it. An
    invitee still following is implied: an unfollow within the window revokes the credit first.
    """
    confirmed: list[Confirmed] = []
    changes: list[ParticipationChange] = []
    for invitation in await reads.due_confirmations(now if due_by is None else due_by, limit):
        event_id = confirmation_event_id(invitation.campaign_id, invitation.invitee)
        async with uow_factory() as uow:
            store = uow.store
            if not await store.confirm_invitation(invitation.campaign_id, invitation.invitee, now):
                continue
            inviter = await store.participant(invitation.campaign_id, invitation.inviter)
            campaign = None if inviter is None else await campaigns.find(inviter.appid, invitation.campaign_id)
            if inviter is None or campaign is None:
                await uow.commit()  # confirmed all the same: nobody left to reward
                continue
            inviter.confirmed += 1
            # Tiers are granted at the confirmation, whatever the campaign's status since: the friend
            # was credited while it ran and stayed for the whole window.
            granted = await _grant_tiers(uow, campaign, inviter, event_id, now)
            await store.save_participant(inviter)
            await uow.commit()
        confirmed.append(Confirmed(invitation.campaign_id, inviter.openid, invitation.invitee, granted, event_id))
        changes.append(ParticipationChange.of(inviter, now))
    await announce(announcer, changes)
    return confirmed


async def _queue_progress(
    uow: ReferralUnitOfWork, campaign: CampaignView, inviter: Participant, event_id: str, at: datetime
) -> None:
    target = next_target(campaign.rules.tiers, inviter.confirmed)
    if target is None:
        return
    text = progress_text(
        campaign.texts, campaign.rules, confirmed=inviter.confirmed, pending=inviter.pending, target=target
    )
    await uow.store.add_notice(_notice(event_id, campaign, inviter, "progress", text, at))


async def _grant_tiers(
    uow: ReferralUnitOfWork, campaign: CampaignView, inviter: Participant, event_id: str, at: datetime
) -> tuple[int, ...]:
    granted = []
    if await uow.store.inviter_frozen(campaign.appid, inviter.openid):
        return ()  # frozen pending review: credits count, rewards wait for the release (service_layer/graph.py)
    # Tiers count confirmed credits: a credit still inside its revocation window earns nothing yet.
    for tier in tiers_to_grant(campaign.rules.tiers, inviter.confirmed, inviter.tiers_granted):
        if await uow.store.grant_reward(campaign.campaign_id, inviter.openid, tier.invites, tier.reward_pool, at):
            inviter.tiers_granted.append(tier.invites)
            granted.append(tier.invites)
            # Granted once per member and tier (the grant's unique key), so reported once too.
            number = activity.tier_number(campaign.rules.tiers, tier.invites)
            for reported in (
                activity.tier_reached(campaign.appid, campaign.campaign_id, inviter.openid, number, at),
                activity.reward_granted(campaign.appid, campaign.campaign_id, inviter.openid, number, at),
            ):
                await uow.emit(CAMPAIGN_ACTIVITY, reported)
            notice = _notice(
                event_id,
                campaign,
                inviter,
                f"tier-{tier.invites}",
                render_message(campaign.texts.tier_reached, count=inviter.confirmed),
                at,
            )
            await uow.store.add_notice(
                replace(
                    notice,
                    reward_id=reward_id(campaign.campaign_id, inviter.openid, tier.invites),
                    reward_pool=tier.reward_pool,
                )
            )
    return tuple(granted)


def _notice(event_id: str, campaign: CampaignView, member: Participant, kind: str, text: str, at: datetime) -> Notice:
    # Deterministic id: the same event queues the same notice, however often it is redelivered.
    return Notice(
        id=f"{campaign.campaign_id}:{member.openid}:{kind}:{event_id}",
        campaign_id=campaign.campaign_id,
        appid=campaign.appid,
        openid=member.openid,
        kind=kind,
        text=text,
        created_at=at,
        event_id=event_id,
    )
