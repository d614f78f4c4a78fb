"""Giving a participant their poster: QR code, rendering, upload, message — each step once.

These steps call the platform, which no database transaction covers. Each step's result is stored on
the participant before the next one starts, so a redelivered join resumes where the last attempt
stopped instead of starting over: a QR code is created once (and renewed before it expires), a poster
is uploaded again only when the platform has dropped the media (after three days), and the poster is
sent once. A crash between the platform accepting the message and the participant recording it can
repeat that one message; nothing else repeats. Recording the poster as sent emits
``campaign.poster_sent`` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.campaigns.domain import activity
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.posters import MEDIA_REUSE_FOR, QR_LIFETIME, QR_RENEW_BEFORE, PosterSpec
from services.campaigns.domain.referrals import ReferralScene
from services.campaigns.service_layer.ports import Platform, PosterRendererPort, ReferralStore, ReferralUnitOfWork
from shared.contracts import CAMPAIGN_ACTIVITY
from shared.wechat_client import Image, Text


async def poster_of(participant: Participant, spec: PosterSpec, renderer: PosterRendererPort) -> bytes:
    """The participant's poster for their current QR code: rendered once, then from the cache (the
    share-screenshot check compares screenshots with exactly the poster the member received)."""
    if participant.qr_url is None:
        raise ValueError("the participant has no QR code yet")
    return await renderer.render(
        participant.campaign_id,
        spec.template_version,
        f"{participant.openid}:{participant.qr_ticket}",
        spec.template,
        spec.layout,
        participant.qr_url,
        spec.texts,
    )


async def give_poster(
    participant: Participant,
    spec: PosterSpec,
    *,
    store: ReferralStore,
    uow: ReferralUnitOfWork,
    platform: Platform,
    renderer: PosterRendererPort,
    now: datetime,
) -> bool:
    """Make sure the participant has received a current poster. True if one was sent now.

    ``store`` records the steps; ``uow`` records the sending with the event that reports it."""
    if (
        participant.qr_url is None
        or participant.qr_expires_at is None
        or participant.qr_expires_at - now < QR_RENEW_BEFORE
    ):
        scene = ReferralScene(participant.campaign_id, participant.code, spec.variant).encode()
        qr = await platform.create_qrcode(scene, expire_seconds=int(QR_LIFETIME.total_seconds()))
        participant.qr_ticket, participant.qr_url = qr.ticket, qr.url
        participant.qr_expires_at = now + timedelta(seconds=qr.expire_seconds or QR_LIFETIME.total_seconds())
        participant.poster_media_id = None  # a new code means a new poster
        participant.poster_sent_at = None
        await store.save_participant(participant)
    if participant.poster_sent_at is not None:
        return False
    if (
        participant.poster_media_id is None
        or participant.poster_uploaded_at is None
        or now - participant.poster_uploaded_at > MEDIA_REUSE_FOR
    ):
        poster = await poster_of(participant, spec, renderer)
        media = await platform.upload_media("image", f"poster-{participant.code}.jpg", poster)
        participant.poster_media_id, participant.poster_uploaded_at = media.media_id, now
        await store.save_participant(participant)
    await platform.send_custom_message(participant.openid, Text(content=spec.welcome))
    await platform.send_custom_message(participant.openid, Image(media_id=participant.poster_media_id))
    participant.poster_sent_at = now
    sent = activity.poster_sent(participant.appid, participant.campaign_id, participant.openid, now)
    async with uow:
        await uow.store.save_participant(participant)
        await uow.emit(CAMPAIGN_ACTIVITY, sent)
        await uow.commit()
    return True
