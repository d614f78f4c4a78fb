"""Keeping segments' copy of campaign participation from ``campaign.participation_changed`` events.

Each event is applied once (the processed-event claim commits with the write), and an event older than
what is kept changes nothing: the latest standing per member and campaign wins, whatever the order
the events arrive in. The live index re-reads the copy (see :class:`~.live_index.LiveIndex`).
"""

from __future__ import annotations

from services.segments.domain.participation import Standing
from services.segments.service_layer.ports import ParticipationUnitOfWork
from shared.contracts import CampaignParticipationChanged
from shared.events import Envelope

__all__ = ["CONSUMER", "record_participation"]

CONSUMER = "segments.participation"


async def record_participation(
    envelope: Envelope, event: CampaignParticipationChanged, uow: ParticipationUnitOfWork
) -> bool:
    """Keep the standing ``event`` announces; False for a redelivery or a standing older than the kept one."""
    standing = Standing(
        appid=envelope.appid,
        openid=event.openid,
        campaign_id=event.campaign_id,
        credited=event.credited,
        revision=event.revision,
        occurred_at=event.occurred_at,
    )
    async with uow:
        if not await uow.claim(CONSUMER, envelope.event_id):
            return False
        newer = standing.supersedes(await uow.participation.kept(standing.appid, standing.openid, standing.campaign_id))
        if newer:
            await uow.participation.keep(standing)
        await uow.commit()  # the claim too: a stale event is done with
        return newer
