"""Announcing participation: who takes part in a campaign and how many invites are credited to them.

Other services (segments select members by campaign and invites) learn it from these announcements,
never from our collections. Each is made after the write it reports has committed, and carries the
participant's standing then; a failed announcement is logged, not raised: the write stands, and the
member's next step in the campaign (a join, a credit) announces their standing again, as does
:func:`announce_everyone` (``scrm campaigns announce-participation``).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import datetime

import structlog

from services.campaigns.domain.participants import Participant
from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.service_layer.ports import ParticipationAnnouncer

__all__ = ["announce", "announce_everyone"]

log = structlog.get_logger("campaigns.participation")


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
    participants: AsyncIterable[Participant], announcer: ParticipationAnnouncer, at: datetime, batch: int = 500
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
