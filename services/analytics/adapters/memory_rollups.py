"""The rollup worker's storage in memory: the :class:`RollupsUnitOfWork` port without a server (unit and
property tests, benchmarks of the worker's own work).

A transaction stages its increments and follower writes and applies them with its claims on commit, as
the MongoDB transaction does; followers are copied in and out so callers never share state with the
store. ``documents`` holds the rollups in the shape MongoDB stores them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from services.analytics.domain.rollups import Follower, Rollups, rollup_id
from services.analytics.service_layer.ports import FollowerStore, RollupsUnitOfWork, RollupWriter
from shared.storage import InMemoryUnitOfWork

__all__ = ["InMemoryFollowerStore", "InMemoryRollupWriter", "InMemoryRollupsUnitOfWork"]


class InMemoryRollupWriter(RollupWriter):
    def __init__(self) -> None:
        self.staged = Rollups()

    async def add(self, increments: Rollups) -> None:
        self.staged.merge(increments)


class InMemoryFollowerStore(FollowerStore):
    def __init__(self, committed: dict[tuple[str, str], Follower]) -> None:
        self._committed = committed
        self.staged: dict[tuple[str, str], Follower] = {}

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Follower]:
        found = {}
        for member in members:
            follower = self.staged.get(member) or self._committed.get(member)
            if follower is not None:
                found[member] = copy.deepcopy(follower)
        return found

    async def save_many(self, followers: Sequence[Follower]) -> None:
        for follower in followers:
            self.staged[(follower.appid, follower.openid)] = copy.deepcopy(follower)


class InMemoryRollupsUnitOfWork(InMemoryUnitOfWork, RollupsUnitOfWork):
    """Rollups, followers and claims that commit together; reusable, each ``async with`` one transaction."""

    def __init__(self) -> None:
        super().__init__()
        #: Rollup documents by ``_id``, as MongoDB holds them.
        self.documents: dict[str, dict[str, Any]] = {}
        self.committed_followers: dict[tuple[str, str], Follower] = {}
        self._rollups = InMemoryRollupWriter()
        self._followers = InMemoryFollowerStore(self.committed_followers)

    @property
    def rollups(self) -> InMemoryRollupWriter:
        return self._rollups

    @property
    def followers(self) -> InMemoryFollowerStore:
        return self._followers

    def _begin(self) -> None:
        self._rollups = InMemoryRollupWriter()
        self._followers = InMemoryFollowerStore(self.committed_followers)

    def _apply(self) -> None:
        for (appid, scope, day), counters in self._rollups.staged.items():
            document = self.documents.setdefault(
                key := rollup_id(appid, scope, day), {"_id": key, "appid": appid, "scope": scope, "day": day, "c": {}}
            )
            for metric, n in counters.items():
                if n:
                    document["c"][metric] = document["c"].get(metric, 0) + n
        self.committed_followers.update(self._followers.staged)
        self._rollups, self._followers.staged = InMemoryRollupWriter(), {}

    def _end(self) -> None:
        self._rollups = InMemoryRollupWriter()
        self._followers = InMemoryFollowerStore(self.committed_followers)

    def counters(self) -> dict[tuple[str, str, str], dict[str, int]]:
        """Every committed rollup's counters by (appid, scope, day)."""
        return {(d["appid"], d["scope"], d["day"]): dict(d["c"]) for d in self.documents.values()}
