"""Members in memory: the members unit-of-work port without a server (tests, local tools).

A unit of work stages its writes and claims and applies them on commit, as the MongoDB transaction
does; members are copied in and out so callers never share state with the store.
"""

from __future__ import annotations

import copy

from services.members.domain.model import Member
from services.members.service_layer.ports import MemberRepository, UnitOfWork
from shared.storage import InMemoryUnitOfWork

__all__ = ["InMemoryMemberRepository", "InMemoryMembersUnitOfWork"]


class InMemoryMemberRepository(MemberRepository):
    def __init__(self, store: dict[tuple[str, str], Member]) -> None:
        self._store = store

    async def get(self, appid: str, openid: str) -> Member | None:
        return copy.deepcopy(self._store.get((appid, openid)))

    async def save(self, member: Member) -> None:
        self._store[(member.appid, member.openid)] = copy.deepcopy(member)


class InMemoryMembersUnitOfWork(InMemoryUnitOfWork, UnitOfWork):
    """Members and claims that commit together; reusable, each ``async with`` one transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.committed: dict[tuple[str, str], Member] = {}
        self._staged: dict[tuple[str, str], Member] = {}

    def _begin(self) -> None:
        self._staged = copy.deepcopy(self.committed)
        self.members = InMemoryMemberRepository(self._staged)

    def _apply(self) -> None:
        self.committed = copy.deepcopy(self._staged)

    def _end(self) -> None:
        self._staged = {}
