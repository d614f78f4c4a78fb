"""Test doubles for the segments service's ports: member facts, and pushes that can lose a race. The
in-memory stores themselves live beside their ports (``services/segments/adapters/memory.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

from services.segments.adapters.memory import InMemoryPushes
from services.segments.domain.rules import MemberFacts

__all__ = ["FakeFacts", "FakePushRepository"]

Member = tuple[str, str]


class FakePushRepository(InMemoryPushes):
    """The in-memory pushes, able to lose a race: ``race_to`` moves the push to that status behind the
    caller's back just before its next transition."""

    def __init__(self) -> None:
        super().__init__()
        self.race_to: str | None = None

    @property
    def docs(self) -> dict[str, dict[str, Any]]:
        return self.pushes

    async def transition(
        self, push_id: str, from_statuses: Sequence[str], to_status: str, **fields: Any
    ) -> dict[str, Any] | None:
        doc = self.pushes.get(push_id)
        if self.race_to is not None and doc is not None:
            doc["status"], self.race_to = self.race_to, None
        return await super().transition(push_id, from_statuses, to_status, **fields)


class FakeFacts:
    """:class:`~services.segments.service_layer.live_index.FactsSource` and ``MemberFactsReader``."""

    def __init__(self, members: Sequence[MemberFacts]) -> None:
        self.members = {(m.appid, m.openid): m for m in members}

    async def everyone(self, today: date) -> AsyncIterator[list[MemberFacts]]:
        yield list(self.members.values())

    async def of(self, members: Sequence[Member], today: date) -> list[MemberFacts]:
        return [self.members[m] for m in members if m in self.members]

    async def one(self, appid: str, openid: str, today: date) -> MemberFacts | None:
        return self.members.get((appid, openid))

    async def participation_changed(self) -> list[Member]:
        return []

    async def written_since(self, since: datetime) -> list[Member]:
        return []
