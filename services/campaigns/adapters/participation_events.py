"""Participation changes published as ``campaign.participation_changed`` on ``campaigns.participation``,
and every participant's standing read back for announcing them all again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.referrals import PARTICIPANTS
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.participation import ParticipationChange
from shared.contracts import CAMPAIGN_PARTICIPATION, CampaignParticipationChanged, participation_event_id
from shared.events import Envelope
from shared.messaging import EventPublisher

__all__ = ["MongoStandings", "PublishedParticipation", "participation_envelope"]


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
    """Implements :class:`~services.campaigns.service_layer.ports.ParticipationAnnouncer`."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def announce(self, changes: Sequence[ParticipationChange]) -> None:
        for change in changes:
            await self._publisher.publish(CAMPAIGN_PARTICIPATION, participation_envelope(change))


class MongoStandings:
    """Every participant as stored, for announcing them all (read outside any transaction)."""

    def __init__(self, database: AsyncDatabase[Any], batch: int = 5_000) -> None:
        self._participants = database[PARTICIPANTS]
        self._batch = batch

    async def everyone(self) -> AsyncIterator[Participant]:
        async for doc in self._participants.find({}, batch_size=self._batch).sort("_id", 1):
            doc.pop("_id", None)
            yield Participant(**doc)
