"""Campaigns' :class:`~services.campaigns.service_layer.ports.ParticipationAnnouncer` port."""

from __future__ import annotations

from collections.abc import Sequence

from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.service_layer.ports import ParticipationAnnouncer
from shared.messaging import PublishFailed

__all__ = ["FakeAnnouncer"]


class FakeAnnouncer(ParticipationAnnouncer):
    """Keeps what it was given; its first ``failures`` announcements raise, as a broker that is down would."""

    def __init__(self, *, failures: int = 0) -> None:
        self.announced: list[ParticipationChange] = []
        self._failures = failures

    async def announce(self, changes: Sequence[ParticipationChange]) -> None:
        if self._failures:
            self._failures -= 1
            raise PublishFailed("broker unavailable (fake)")
        self.announced.extend(changes)
