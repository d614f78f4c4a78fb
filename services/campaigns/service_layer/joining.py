"""Joining a campaign: through its own QR code, a keyword, a menu click, or a friend's poster.

Every route ends the same way: the member becomes a participant (once: one per campaign and member)
and gets their poster (see :func:`give_poster`, which resumes where a previous attempt stopped). A
member who tries to join a campaign that has ended gets its "ended" message, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.campaigns.domain import activity
from services.campaigns.domain.campaign import Campaign, CampaignStatus
from services.campaigns.domain.participants import Notice, Participant, new_participant_code
from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.domain.referrals import JoinScene, ReferralScene, Rejection
from services.campaigns.service_layer.participation import announce
from services.campaigns.service_layer.ports import (
    JoiningCampaigns,
    ParticipationAnnouncer,
    Platform,
    PosterRendererPort,
    ReferralStore,
    ReferralUnitOfWork,
)
from services.campaigns.service_layer.posters import give_poster
from shared.contracts import CAMPAIGN_ACTIVITY, QrCodeScanned
from shared.events import Envelope
from shared.wechat_client import RecipientUnavailable

SCANS_CONSUMER = "campaigns.scans"


@dataclass(frozen=True)
class JoinResult:
    participant: Participant | None
    poster_sent: bool = False
    ended_notice: Notice | None = None


def campaign_in_scene(scene: str | None) -> tuple[str, str] | None:
    """``(campaign_id, via)`` for a campaign's own code or a member's referral code, else None."""
    joined = JoinScene.decode(scene)
    if joined is not None:
        return joined.campaign_id, "campaign_qr"
    referral = ReferralScene.decode(scene)
    if referral is not None:
        return referral.campaign_id, "referral"
    return None


def campaigns_for_keyword(campaigns: Sequence[Campaign], text: str) -> list[Campaign]:
    return [campaign for campaign in campaigns if campaign.join.matches_keyword(text)]


def campaigns_for_menu(campaigns: Sequence[Campaign], key: str) -> list[Campaign]:
    return [campaign for campaign in campaigns if campaign.join.matches_menu_key(key)]


async def join(
    campaign: Campaign,
    openid: str,
    via: str,
    envelope: Envelope,
    *,
    store: ReferralStore,
    uow: ReferralUnitOfWork,
    campaigns: JoiningCampaigns,
    platform: Platform,
    renderer: PosterRendererPort,
    now: datetime,
    announcer: ParticipationAnnouncer | None = None,
) -> JoinResult:
    """Make ``openid`` a participant of ``campaign`` and see that they have their poster.

    The participant's standing is announced every time, new or not: announcing it again is harmless
    (the same standing, the same event id), and it repairs an announcement that failed earlier."""
    at = envelope.occurred_at
    if campaign.status is CampaignStatus.ENDED or (campaign.status is CampaignStatus.ACTIVE and at >= campaign.ends_at):
        notice = Notice(
            id=f"{campaign.id}:{openid}:ended",
            campaign_id=campaign.id,
            appid=campaign.appid,
            openid=openid,
            kind="ended",
            text=campaign.messages.render("ended", campaign=campaign.name),
            created_at=at,
            event_id=envelope.event_id,
        )
        await store.add_notice(notice)
        return JoinResult(None, ended_notice=notice)
    if not campaign.is_running(at) or openid in campaign.rules.blacklist:
        return JoinResult(None)
    participant = await store.add_participant(
        Participant(
            campaign_id=campaign.id,
            appid=campaign.appid,
            openid=openid,
            code=new_participant_code(),
            joined_at=at,
            joined_via=via,
        )
    )
    await announce(announcer, [ParticipationChange.of(participant, at)])
    spec = await campaigns.poster_spec(campaign, nickname="", member=openid)
    if spec is None:  # activation requires a template, so only a template deleted behind its back
        return JoinResult(participant)
    try:
        sent = await give_poster(participant, spec, store=store, uow=uow, platform=platform, renderer=renderer, now=now)
    except RecipientUnavailable:
        # Left already, or no window open: the poster waits for their next step into the campaign
        # (a scan, the keyword), which resumes give_poster where it stopped.
        return JoinResult(participant)
    return JoinResult(participant, poster_sent=sent)


async def record_scan(
    envelope: Envelope, event: QrCodeScanned, uow: ReferralUnitOfWork, campaigns: JoiningCampaigns
) -> bool:
    """An existing follower scanned a member's code: no credit, but ops see it (once per push)."""
    referral = ReferralScene.decode(event.scene)
    if referral is None:
        return False
    async with uow:
        if not await uow.claim(SCANS_CONSUMER, envelope.event_id):
            return False
        campaign = await campaigns.campaign(envelope.appid, referral.campaign_id)
        inviter = await uow.store.participant_by_code(referral.campaign_id, referral.participant_code)
        if campaign is None or inviter is None:
            await uow.commit()
            return False
        await uow.store.record_rejection(
            campaign.id, inviter.openid, event.openid, Rejection.EXISTING_FOLLOWER_SCAN, event.scanned_at
        )
        scanned = activity.poster_scanned(
            envelope.appid,
            campaign.id,
            openid=event.openid,
            inviter=inviter.openid,
            new_follower=False,
            at=event.scanned_at,
            source_event_id=envelope.event_id,
        )
        await uow.emit(CAMPAIGN_ACTIVITY, scanned)
        await uow.commit()
        return True
