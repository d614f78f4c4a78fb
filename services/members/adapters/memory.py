"""Members in memory: the members unit-of-work port without a server (tests, local tools).

A unit of work stages its writes and claims and applies them on commit, as the MongoDB transaction
does; members are copied in and out so callers never share state with the store.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from services.members.domain.model import Member
from services.members.service_layer.ports import MemberRepository, UnitOfWork
from shared.storage import InMemoryUnitOfWork

__all__ = ["InMemoryMemberRepository", "InMemoryMemberViews", "InMemoryMembersUnitOfWork"]

_NEVER = datetime.min.replace(tzinfo=UTC)


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


class InMemoryMemberViews:
    """The read side (:class:`~services.members.adapters.views.MemberViews`) over a unit of work's
    committed members, in the same order as MongoDB's."""

    def __init__(self, uow: InMemoryMembersUnitOfWork) -> None:
        self._uow = uow

    def _of(self, appid: str) -> list[Member]:
        return [m for (account, _), m in self._uow.committed.items() if account == appid]

    async def get(self, appid: str, openid: str) -> Member | None:
        return copy.deepcopy(self._uow.committed.get((appid, openid)))

    async def list(self, appid: str, *, following: bool | None, limit: int, offset: int) -> list[Member]:
        found = [m for m in self._of(appid) if following is None or m.following is following]
        found.sort(key=lambda m: m.openid)
        # Newest follow first (stable over the openid order); never-followed last, as MongoDB sorts None.
        found.sort(key=lambda m: m.last_followed_at or _NEVER, reverse=True)
        return copy.deepcopy(found[offset : offset + limit])

    async def counts(self, appid: str) -> dict[str, int]:
        members = self._of(appid)
        following = sum(m.following for m in members)
        return {"members": len(members), "following": following, "unfollowed": len(members) - following}
