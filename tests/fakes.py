"""Test doubles that are not implementations of their own: in-memory adapters live beside their ports
(``services/<service>/adapters/memory.py``, ``shared.messaging.InMemoryEventPublisher``)."""

from __future__ import annotations

from collections.abc import Sequence

from services.campaigns.domain.participation import ParticipationChange
from shared.events import Envelope, Topic
from shared.messaging import InMemoryEventPublisher, PublishFailed


class FakePublisher(InMemoryEventPublisher):
    """The in-memory publisher, failing its first ``failures`` publishes as an unreachable broker would."""

    def __init__(self, *, failures: int = 0) -> None:
        super().__init__()
        self._failures = failures

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if self._failures:
            self._failures -= 1
            raise PublishFailed("broker unavailable (fake)")
        await super().publish(topic, envelope)


class FakeAnnouncer:
    """:class:`services.campaigns.service_layer.participation.ParticipationAnnouncer` that keeps what it
    was given; ``failures`` announcements raise first, as a broker that is down would."""

    def __init__(self, *, failures: int = 0) -> None:
        self.announced: list[ParticipationChange] = []
        self._failures = failures

    async def announce(self, changes: Sequence[ParticipationChange]) -> None:
        if self._failures:
            self._failures -= 1
            raise PublishFailed("broker unavailable (fake)")
        self.announced.extend(changes)
