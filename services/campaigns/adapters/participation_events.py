"""Participation changes published as ``campaign.participation_changed`` on ``campaigns.participation``,
and every participant's standing read back for announcing them all again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.referrals import PARTICIPANTS
from services.campaigns.service_layer.participation import ParticipationChange
from shared.contracts import CAMPAIGN_PARTICIPATION, CampaignParticipationChanged, participation_event_id
from shared.events import Envelope
from shared.messaging import EventPublisher

__all__ = ["MongoStandings", "PublishedParticipation", "StoredStanding", "participation_envelope"]


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


@dataclass(frozen=True)
class StoredStanding:
    campaign_id: str
    appid: str
    openid: str
    credited: int
    revoked: int


class MongoStandings:
    """Every participant's standing as stored, campaign by campaign (read outside any transaction)."""

    def __init__(self, database: AsyncDatabase[Any], batch: int = 5_000) -> None:
        self._participants = database[PARTICIPANTS]
        self._batch = batch

    async def everyone(self) -> AsyncIterator[StoredStanding]:
        fields = {"_id": 0, "campaign_id": 1, "appid": 1, "openid": 1, "credited": 1, "revoked": 1}
        async for doc in self._participants.find({}, fields, batch_size=self._batch).sort("_id", 1):
            yield StoredStanding(
                doc["campaign_id"], doc["appid"], doc["openid"], int(doc.get("credited", 0)), int(doc.get("revoked", 0))
            )
