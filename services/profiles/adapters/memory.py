"""Profiles and surveys in memory: the :class:`~services.profiles.service_layer.ports.ProfilesUnitOfWork`
and :class:`~services.profiles.service_layer.ports.SurveyStore` ports without a server, for benchmarks
of the service's own work and for tests.

Profiles are kept as their MongoDB documents (the repository's own encoding), so what is measured or
tested includes encoding and decoding; a unit of work stages its writes and claims and applies them on
commit, as the MongoDB transaction does.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import MutableMapping, Sequence
from datetime import datetime
from typing import Any

from services.profiles.adapters import surveys as survey_documents
from services.profiles.adapters.repository import from_document, to_document
from services.profiles.domain.profile import Change, Profile
from services.profiles.domain.surveys import Survey, SurveyStatus
from shared.storage import InMemoryUnitOfWork, StorageConflict

__all__ = ["InMemoryProfileStore", "InMemoryProfilesUnitOfWork", "InMemorySurveys"]

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


class InMemorySurveys:
    """The survey store over dicts, kept in MongoSurveys' document encoding.

    Its writes apply at once (no transaction to roll back); like MongoDB's, a second response for a
    member is refused, a second draw is a conflict, and stock never goes below zero.
    """

    def __init__(self) -> None:
        self.surveys: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        self.draws: dict[str, dict[str, Any]] = {}
        self.stock: dict[tuple[str, str], int] = {}

    async def add(self, survey: Survey, at: datetime) -> None:
        if survey.id in self.surveys:
            raise StorageConflict(f"survey {survey.id} exists")
        self.surveys[survey.id] = survey_documents.to_document(survey, at)
        self.stock.update({(survey.id, prize.id): prize.stock for prize in survey.prizes})

    async def get(self, appid: str, survey_id: str) -> Survey | None:
        doc = self.surveys.get(survey_id)
        return None if doc is None or doc["appid"] != appid else survey_documents.from_document(doc)

    async def set_status(self, survey_id: str, status: SurveyStatus) -> None:
        if survey_id in self.surveys:
            self.surveys[survey_id] = {**self.surveys[survey_id], "status": status.value}

    async def add_response(self, key: str, document: dict[str, Any]) -> bool:
        if key in self.responses:
            return False
        self.responses[key] = {"_id": key, **document}
        return True

    async def take_stock(self, survey_id: str, prize_id: str) -> bool:
        if self.stock.get((survey_id, prize_id), 0) <= 0:
            return False
        self.stock[(survey_id, prize_id)] -= 1
        return True

    async def record_draw(self, key: str, document: dict[str, Any]) -> None:
        if key in self.draws:
            raise StorageConflict(f"a draw is recorded for {key} already")
        self.draws[key] = {"_id": key, **document}

    async def draw_of(self, key: str) -> dict[str, Any] | None:
        return self.draws.get(key)

    async def results(self, survey_id: str) -> dict[str, Any]:
        won: dict[str, int] = {}
        for draw in self.draws.values():
            if draw.get("survey_id") == survey_id:
                prize = draw.get("prize_id") or "none"
                won[prize] = won.get(prize, 0) + 1
        return {
            "responses": sum(r.get("survey_id") == survey_id for r in self.responses.values()),
            "draws": won,
            "remaining": {prize: left for (survey, prize), left in self.stock.items() if survey == survey_id},
        }
