"""Members in memory: the members unit-of-work port without a server (tests, local tools).

A unit of work stages its writes and claims and applies them on commit, as the MongoDB transaction
does; members are copied in and out so callers never share state with the store.
"""

from __future__ import annotations

import copy
from types import TracebackType
from typing import Self

from services.members.domain.model import Member
from services.members.service_layer.ports import MemberRepository, UnitOfWork

__all__ = ["InMemoryMemberRepository", "InMemoryMembersUnitOfWork"]


class InMemoryMemberRepository(MemberRepository):
    def __init__(self, store: dict[tuple[str, str], Member]) -> None:
        self._store = store

    async def get(self, appid: str, openid: str) -> Member | None:
        return copy.deepcopy(self._store.get((appid, openid)))

    async def save(self, member: Member) -> None:
        self._store[(member.appid, member.openid)] = copy.deepcopy(member)


class InMemoryMembersUnitOfWork(UnitOfWork):
    """Reusable: each ``async with`` is one transaction over the same committed members and claims."""

    def __init__(self) -> None:
        self.committed: dict[tuple[str, str], Member] = {}
        #: "consumer:event_id" of every committed claim.
        self.processed: set[str] = set()
        self.commits = 0
        self._staged: dict[tuple[str, str], Member] = {}
        self._claims: set[str] = set()

    async def __aenter__(self) -> Self:
        self._staged = copy.deepcopy(self.committed)
        self._claims = set()
        self.members = InMemoryMemberRepository(self._staged)
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
