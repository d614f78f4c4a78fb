"""Fakes for unit tests. Each implements the same port as the real adapter it stands in for."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from services.campaigns.domain.participation import ParticipationChange
from services.members.domain.model import Member
from services.members.service_layer.ports import MemberRepository, UnitOfWork
from services.segments.domain.participation import Standing
from shared.events import Envelope, Topic
from shared.messaging import PublishFailed


class FakePublisher:
    """:class:`shared.messaging.EventPublisher` that keeps what it was given."""

    def __init__(self, *, failures: int = 0) -> None:
        self.published: list[tuple[Topic, Envelope]] = []
        self._failures = failures

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if self._failures:
            self._failures -= 1
            raise PublishFailed("broker unavailable (fake)")
        if not topic.carries(envelope.type):
            raise AssertionError(f"{envelope.type} published to {topic.name}")
        self.published.append((topic, envelope))


class FakeMemberRepository(MemberRepository):
    def __init__(self, store: dict[tuple[str, str], Member]) -> None:
        self._store = store

    async def get(self, appid: str, openid: str) -> Member | None:
        member = self._store.get((appid, openid))
        return copy.deepcopy(member)

    async def save(self, member: Member) -> None:
        self._store[(member.appid, member.openid)] = copy.deepcopy(member)


class FakeUnitOfWork(UnitOfWork):
    """Stages writes and applies them on commit, like the transaction it fakes."""

    def __init__(self) -> None:
        self.committed: dict[tuple[str, str], Member] = {}
        self.processed: set[str] = set()
        self.commits = 0
        self._staged: dict[tuple[str, str], Member] = {}
        self._claims: set[str] = set()

    async def __aenter__(self) -> Self:
        self._staged = copy.deepcopy(self.committed)
        self._claims = set()
        self.members = FakeMemberRepository(self._staged)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._staged = {}
        self._claims = set()

    async def claim(self, consumer: str, event_id: str) -> bool:
        key = f"{consumer}:{event_id}"
        if key in self.processed or key in self._claims:
            return False
        self._claims.add(key)
        return True

    async def commit(self) -> None:
        self.committed = copy.deepcopy(self._staged)
        self.processed |= self._claims
        self.commits += 1


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
