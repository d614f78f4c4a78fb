"""A participant's standing as other services hear it: invites credited now, and how many changes
to the credit led there. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.campaigns.domain.participants import Participant

__all__ = ["ParticipationChange"]


@dataclass(frozen=True)
class ParticipationChange:
    """A participant's standing after a committed write, and when the change happened."""

    campaign_id: str
    appid: str
    openid: str
    credited: int
    #: Changes to the credited count so far: each credit adds one to ``credited`` and each revocation
    #: takes one from it and adds one to ``revoked``, so ``credited + 2 * revoked`` grows by exactly one
    #: per change. Readers keep the greatest: announcements may be published out of order.
    revision: int
    at: datetime

    @classmethod
    def of(cls, participant: Participant, at: datetime) -> ParticipationChange:
        return cls(
            campaign_id=participant.campaign_id,
            appid=participant.appid,
            openid=participant.openid,
            credited=participant.credited,
            revision=participant.credited + 2 * participant.revoked,
            at=at,
        )
