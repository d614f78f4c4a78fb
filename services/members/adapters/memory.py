"""Members in memory: the members unit-of-work port without a server (tests, local tools).

A unit of work stages its writes and claims and applies them on commit, as the MongoDB transaction
does; members are copied in and out so callers never share state with the store. The accounts'
counters (members, following) are staged and committed with the members, as in MongoDB.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from services.members.domain.model import Member, count_change
from services.members.service_layer.ports import MemberRepository, UnitOfWork
from shared.storage import InMemoryUnitOfWork

__all__ = ["InMemoryMemberRepository", "InMemoryMemberViews", "InMemoryMembersUnitOfWork"]

_NEVER = datetime.min.replace(tzinfo=UTC)


Counters = dict[str, dict[str, int]]


class InMemoryMemberRepository(MemberRepository):
    def __init__(self, store: dict[tuple[str, str], Member], counters: Counters | None = None) -> None:
        self._store = store
        self._counters: Counters = {} if counters is None else counters

    async def get(self, appid: str, openid: str) -> Member | None:
        return copy.deepcopy(self._store.get((appid, openid)))

    async def save(self, member: Member) -> None:
        before = self._store.get((member.appid, member.openid))
        self._store[(member.appid, member.openid)] = copy.deepcopy(member)
        account = self._counters.setdefault(member.appid, {})
        for name, n in count_change(before, member).items():
            account[name] = account.get(name, 0) + n


class InMemoryMembersUnitOfWork(InMemoryUnitOfWork, UnitOfWork):
    """Members and claims that commit together; reusable, each ``async with`` one transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.committed: dict[tuple[str, str], Member] = {}
        #: Per account: members and following, as committed.
        self.counters: Counters = {}
        self._staged: dict[tuple[str, str], Member] = {}
        self._staged_counters: Counters = {}

    def _begin(self) -> None:
        self._staged = copy.deepcopy(self.committed)
        self._staged_counters = copy.deepcopy(self.counters)
        self.members = InMemoryMemberRepository(self._staged, self._staged_counters)

    def _apply(self) -> None:
        self.committed = copy.deepcopy(self._staged)
        self.counters = copy.deepcopy(self._staged_counters)

    def _end(self) -> None:
        self._staged = {}
        self._staged_counters = {}


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
        counts = self._uow.counters.get(appid, {})
        total, following = counts.get("members", 0), counts.get("following", 0)
        return {"members": total, "following": following, "unfollowed": total - following}

    async def recount(self, appid: str) -> dict[str, int]:
        """The account's counters computed from its members (what a rebuild writes)."""
        members = self._of(appid)
        return {"members": len(members), "following": sum(m.following for m in members)}

    async def rebuild(self, appid: str) -> dict[str, int]:
        self._uow.counters[appid] = counts = await self.recount(appid)
        return counts
