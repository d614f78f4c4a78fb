"""Segments' member facts ports: :class:`~services.segments.service_layer.live_index.FactsSource` and
:class:`~services.segments.service_layer.ports.MemberFactsReader`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime

from services.segments.domain.rules import MemberFacts
from services.segments.service_layer.live_index import FactsSource
from services.segments.service_layer.ports import MemberFactsReader

__all__ = ["FakeFacts"]

Member = tuple[str, str]


class FakeFacts(FactsSource, MemberFactsReader):
    """A fixed set of members whose facts never change (no participation, nothing written since)."""

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
