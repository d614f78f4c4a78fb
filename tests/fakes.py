"""Test doubles that are not implementations of their own: in-memory adapters live beside their ports
(``services/<service>/adapters/memory.py``, ``shared.messaging.InMemoryEventPublisher``)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from services.campaigns.domain.participation import ParticipationChange
from services.segments.domain.participation import Standing
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


class FakeParticipation:
    """:class:`services.segments.service_layer.ports.ParticipationStore` over a dict, keyed as the
    MongoDB one (account, member, campaign)."""

    def __init__(self, kept: dict[tuple[str, str, str], Standing]) -> None:
        self._kept = kept

    async def kept(self, appid: str, openid: str, campaign_id: str) -> Standing | None:
        return self._kept.get((appid, openid, campaign_id))

    async def keep(self, standing: Standing) -> None:
        self._kept[(standing.appid, standing.openid, standing.campaign_id)] = standing


class FakeParticipationUnitOfWork:
    """:class:`services.segments.service_layer.ports.ParticipationUnitOfWork`: stages writes and claims
    and applies them on commit, like the transaction it fakes."""

    def __init__(self) -> None:
        self.committed: dict[tuple[str, str, str], Standing] = {}
        self.processed: set[str] = set()
        self.commits = 0
        self._staged: dict[tuple[str, str, str], Standing] = {}
        self._claims: set[str] = set()
        self._store: FakeParticipation | None = None

    @property
    def participation(self) -> FakeParticipation:
        if self._store is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._store

    async def __aenter__(self) -> Self:
        self._staged = dict(self.committed)
        self._claims = set()
        self._store = FakeParticipation(self._staged)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._store = None
        self._staged = {}
        self._claims = set()

    async def claim(self, consumer: str, event_id: str) -> bool:
        key = f"{consumer}:{event_id}"
        if key in self.processed or key in self._claims:
            return False
        self._claims.add(key)
        return True

    async def commit(self) -> None:
        self.committed = dict(self._staged)
        self.processed |= self._claims
        self.commits += 1
