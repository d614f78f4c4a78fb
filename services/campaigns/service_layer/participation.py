"""Announcing participation: who takes part in a campaign and how many invites are credited to them.

Other services (segments select members by campaign and invites) learn it from these announcements,
never from our collections. Each is made after the write it reports has committed, and carries the
participant's standing then; a failed announcement is logged, not raised: the write stands, and the
member's next step in the campaign (a join, a credit) announces their standing again.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

log = structlog.get_logger("campaigns.participation")


class _Standing(Protocol):
    """What a participant record tells about their standing (the store's ``Participant``)."""

    @property
    def campaign_id(self) -> str: ...
    @property
    def appid(self) -> str: ...
    @property
    def openid(self) -> str: ...
    @property
    def credited(self) -> int: ...
    @property
    def revoked(self) -> int: ...


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
    def of(cls, participant: _Standing, at: datetime) -> ParticipationChange:
        return cls(
            campaign_id=participant.campaign_id,
            appid=participant.appid,
            openid=participant.openid,
            credited=participant.credited,
            revision=participant.credited + 2 * participant.revoked,
            at=at,
        )


class ParticipationAnnouncer(Protocol):
    """Where participation changes go (the ``campaigns.participation`` topic in production)."""

    async def announce(self, changes: Sequence[ParticipationChange]) -> None:
        """Publish each change; raises if any could not be published."""
        ...


async def announce(announcer: ParticipationAnnouncer | None, changes: Sequence[ParticipationChange]) -> None:
    """Announce ``changes`` after their write committed; a failure is logged (the write must stand)."""
    if announcer is None or not changes:
        return
    try:
        await announcer.announce(changes)
    except Exception as exc:
        log.warning(
            "participation not announced",
            count=len(changes),
            campaigns=sorted({change.campaign_id for change in changes}),
            error=f"{type(exc).__name__}: {exc}",
        )


async def announce_everyone(
    participants: AsyncIterable[_Standing], announcer: ParticipationAnnouncer, at: datetime, batch: int = 500
) -> int:
    """Announce every participant's standing as of ``at``; how many were announced.

    For participants from before the announcements existed, and to repair announcements that failed.
    A standing announced before has the same event id, so readers recognise it and change nothing.
    Unlike :func:`announce`, a failure raises: a job that cannot publish must stop, and can be re-run.
    """
    count = 0
    pending: list[ParticipationChange] = []
    async for participant in participants:
        pending.append(ParticipationChange.of(participant, at))
        if len(pending) == batch:
            await announcer.announce(pending)
            count, pending = count + len(pending), []
    if pending:
        await announcer.announce(pending)
        count += len(pending)
    return count
