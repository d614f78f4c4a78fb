"""Profiles in memory: the :class:`~services.profiles.service_layer.ports.ProfilesUnitOfWork` port
without a server, for benchmarks of the service's own work and for tests.

Profiles are kept as their MongoDB documents (the repository's own encoding), so what is measured or
tested includes encoding and decoding; a unit of work stages its writes and claims and applies them on
commit, as the MongoDB transaction does.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import MutableMapping, Sequence
from typing import Any

from services.profiles.adapters.repository import from_document, to_document
from services.profiles.domain.profile import Change, Profile
from shared.storage import InMemoryUnitOfWork

__all__ = ["InMemoryProfileStore", "InMemoryProfilesUnitOfWork"]

Documents = MutableMapping[tuple[str, str], dict[str, Any]]


class InMemoryProfileStore:
    """The profile repository over a dict of documents keyed by (appid, openid)."""

    def __init__(self, documents: Documents | None = None) -> None:
        self.documents: Documents = {} if documents is None else documents

    async def get_or_new(self, appid: str, openid: str) -> Profile:
        found = await self.get_many([(appid, openid)])
        return found.get((appid, openid)) or Profile(appid, openid)

    async def save(self, profile: Profile, changes: list[Change]) -> None:
        await self.save_many([(profile, changes)])

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Profile]:
        return {key: from_document(self.documents[key]) for key in members if key in self.documents}

    async def save_many(self, updates: Sequence[tuple[Profile, list[Change]]]) -> None:
        # The history (``changes``) is not kept: nothing reads it back through this port.
        for profile, _ in updates:
            profile.version += 1
            self.documents[(profile.appid, profile.openid)] = to_document(profile)


class InMemoryProfilesUnitOfWork(InMemoryUnitOfWork):
    """Claims and profile writes that commit together or not at all. Reusable: each ``async with``
    is one transaction over the same ``store`` and processed-event records."""

    def __init__(self, store: InMemoryProfileStore | None = None) -> None:
        super().__init__()
        self.store = InMemoryProfileStore() if store is None else store
        self._staged: InMemoryProfileStore | None = None
        self._writes: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def profiles(self) -> InMemoryProfileStore:
        """Inside ``async with``: the transaction's view (its own writes over the committed ones)."""
        return self.store if self._staged is None else self._staged

    def _begin(self) -> None:
        self._writes = {}
        self._staged = InMemoryProfileStore(ChainMap(self._writes, self.store.documents))

    def _apply(self) -> None:
        self.store.documents.update(self._writes)
        self._writes.clear()  # the view reads through to the committed documents again

    def _end(self) -> None:
        self._staged, self._writes = None, {}
