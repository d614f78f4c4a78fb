"""Participation changes published as ``campaign.participation_changed`` on ``campaigns.participation``."""

from __future__ import annotations

from collections.abc import Sequence

from services.campaigns.service_layer.participation import ParticipationChange
from shared.contracts import CAMPAIGN_PARTICIPATION, CampaignParticipationChanged, participation_event_id
from shared.events import Envelope
from shared.messaging import EventPublisher

__all__ = ["PublishedParticipation", "participation_envelope"]


def participation_envelope(change: ParticipationChange) -> Envelope:
    """The envelope of one change, keyed by the member so one member's changes stay in order."""
    event = CampaignParticipationChanged(
        openid=change.openid,
        campaign_id=change.campaign_id,
        credited=change.credited,
        revision=change.revision,
        occurred_at=change.at,
    )
    return Envelope.wrap(
        event,
        appid=change.appid,
        key=change.openid,
        occurred_at=change.at,
        event_id=participation_event_id(change.campaign_id, change.openid, change.revision),
    )


class PublishedParticipation:
    """Implements :class:`~services.campaigns.service_layer.participation.ParticipationAnnouncer`."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def announce(self, changes: Sequence[ParticipationChange]) -> None:
        for change in changes:
            await self._publisher.publish(CAMPAIGN_PARTICIPATION, participation_envelope(change))
