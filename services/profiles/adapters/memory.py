"""Profiles and surveys in memory: the :class:`~services.profiles.service_layer.ports.ProfilesUnitOfWork`,
:class:`~services.profiles.service_layer.ports.ProfileReader` and
:class:`~services.profiles.service_layer.ports.SurveyStore` ports without a server, for benchmarks of
the service's own work and for tests (the API over them: ``bootstrap(settings, store=...)``).

Profiles are kept as their MongoDB documents (the repository's own encoding), so what is measured or
tested includes encoding and decoding; a unit of work stages its writes and claims and applies them on
commit, as the MongoDB transaction does.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from services.profiles.adapters import surveys as survey_documents
from services.profiles.adapters.repository import from_document, to_document
from services.profiles.domain.coverage import CoverageLedger, beijing_day, daily_part
from services.profiles.domain.invitations import HeldInvitation
from services.profiles.domain.profile import Change, Profile
from services.profiles.domain.surveys import Survey, SurveyStatus
from services.profiles.service_layer.coverage import profile_counts
from services.profiles.service_layer.ports import ProfileCounts, SurveyStore
from shared.storage import InMemoryUnitOfWork, StorageConflict

__all__ = [
    "InMemoryHeldInvitations",
    "InMemoryProfileReader",
    "InMemoryProfileStore",
    "InMemoryProfilesUnitOfWork",
    "InMemorySurveys",
    "InMemorySurveysUnitOfWork",
]

Documents = MutableMapping[tuple[str, str], dict[str, Any]]


class InMemoryProfileStore:
    """The profile repository over a dict of documents keyed by (appid, openid)."""

    def __init__(
        self,
        documents: Documents | None = None,
        history: list[dict[str, Any]] | None = None,
        ledger: CoverageLedger | None = None,
    ) -> None:
        self.documents: Documents = {} if documents is None else documents
        #: Every change saved, oldest first, as MongoDB's history collection keeps them.
        self.history: list[dict[str, Any]] = [] if history is None else history
        #: The coverage counters as MongoDB keeps them: ``"<appid>|total"`` and ``"<appid>|<day>"``
        #: documents (``{"appid", "day", "c": {key: n}}``).
        self.coverage: dict[str, dict[str, Any]] = {}
        #: When a commit happens (the Beijing day of the daily counters); tests set it.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._ledger = ledger

    async def get_or_new(self, appid: str, openid: str) -> Profile:
        found = await self.get_many([(appid, openid)])
        return found.get((appid, openid)) or Profile(appid, openid)

    async def save(self, profile: Profile, changes: list[Change]) -> None:
        await self.save_many([(profile, changes)])

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Profile]:
        found = {key: from_document(self.documents[key]) for key in members if key in self.documents}
        if self._ledger is not None:
            for member in members:
                self._ledger.seen(member, found.get(member))
        return found

    async def save_many(self, updates: Sequence[tuple[Profile, list[Change]]]) -> None:
        # Outside a unit of work (tests seeding the store) each write counts at once.
        ledger = CoverageLedger() if self._ledger is None else self._ledger
        # A profile written without being read in this transaction counts from what is stored.
        for key in {(p.appid, p.openid) for p, _ in updates}:
            if not ledger.knows(key):
                ledger.seen(key, from_document(self.documents[key]) if key in self.documents else None)
        for profile, changes in updates:
            profile.version += 1
            ledger.wrote(profile)
            self.documents[(profile.appid, profile.openid)] = to_document(profile)
            self.history += (
                {
                    "appid": profile.appid,
                    "openid": profile.openid,
                    "at": change.at,
                    "kind": change.kind,
                    "detail": change.detail,
                    "actor": change.actor,
                }
                for change in changes
            )
        if self._ledger is None:
            apply_coverage(self.coverage, ledger.increments(), self.clock())


class InMemoryProfilesUnitOfWork(InMemoryUnitOfWork):
    """Claims and profile writes that commit together or not at all. Reusable: each ``async with``
    is one transaction over the same ``store`` and processed-event records."""

    def __init__(self, store: InMemoryProfileStore | None = None) -> None:
        super().__init__()
        self.store = InMemoryProfileStore() if store is None else store
        self._staged: InMemoryProfileStore | None = None
        self._writes: dict[tuple[str, str], dict[str, Any]] = {}
        self._changes: list[dict[str, Any]] = []
        self._ledger = CoverageLedger()

    @property
    def profiles(self) -> InMemoryProfileStore:
        """Inside ``async with``: the transaction's view (its own writes over the committed ones)."""
        return self.store if self._staged is None else self._staged

    def _begin(self) -> None:
        self._writes, self._changes = {}, []
        self._ledger.clear()
        view = ChainMap(self._writes, self.store.documents)
        self._staged = InMemoryProfileStore(view, self._changes, self._ledger)

    def _apply(self) -> None:
        self.store.documents.update(self._writes)
        self.store.history += self._changes
        apply_coverage(self.store.coverage, self._ledger.increments(), self.store.clock())
        self._ledger.clear()
        self._writes.clear()  # the view reads through to the committed documents again
        self._changes.clear()

    def _end(self) -> None:
        self._staged, self._writes, self._changes = None, {}, []
        self._ledger.clear()


def apply_coverage(documents: dict[str, dict[str, Any]], increments: dict[str, dict[str, int]], at: datetime) -> None:
    """What the MongoDB adapter's ``add_coverage`` does: the totals and the day's document, ``$inc``."""
    day = beijing_day(at).isoformat()
    for appid, counts in increments.items():
        _inc(documents, f"{appid}|total", {"appid": appid}, counts)
        if daily := daily_part(counts):
            _inc(documents, f"{appid}|{day}", {"appid": appid, "day": day}, daily)


def _inc(documents: dict[str, dict[str, Any]], key: str, fields: dict[str, Any], increments: dict[str, int]) -> None:
    counts = documents.setdefault(key, {"_id": key, **fields, "c": {}})["c"]
    for name, n in increments.items():
        counts[name] = counts.get(name, 0) + n


class InMemorySurveysUnitOfWork(InMemoryProfilesUnitOfWork):
    """Profiles and surveys in one transaction (survey writes apply at once, as documented below)."""

    def __init__(self, store: InMemoryProfileStore, surveys: InMemorySurveys) -> None:
        super().__init__(store)
        self._surveys = surveys

    @property
    def surveys(self) -> SurveyStore:
        return self._surveys


class InMemoryProfileReader:
    """The operator API's reads over a store's committed documents and history."""

    def __init__(self, store: InMemoryProfileStore) -> None:
        self.store = store

    async def get(self, appid: str, openid: str) -> Profile | None:
        document = self.store.documents.get((appid, openid))
        return None if document is None else from_document(document)

    async def history(self, appid: str, openid: str, limit: int = 100) -> list[dict[str, Any]]:
        mine = [dict(e) for e in self.store.history if e["appid"] == appid and e["openid"] == openid]
        # Newest first; among equal times the later write first, as MongoDB's (at, _id) sort does.
        ordered = sorted(enumerate(mine), key=lambda pair: (pair[1]["at"], pair[0]), reverse=True)
        return [entry for _, entry in ordered[:limit]]

    async def each(self, appid: str) -> AsyncIterator[Profile]:
        for (account, _), document in list(self.store.documents.items()):
            if account == appid:
                yield from_document(document)

    async def stats(self, appid: str, today: date) -> ProfileCounts:
        return profile_counts(await self.coverage_totals(appid), today)

    async def coverage_totals(self, appid: str) -> dict[str, int]:
        return dict(self.store.coverage.get(f"{appid}|total", {}).get("c", {}))

    async def coverage_days(self, appid: str, first: date) -> dict[date, dict[str, int]]:
        return {
            date.fromisoformat(doc["day"]): dict(doc["c"])
            for doc in self.store.coverage.values()
            if doc["appid"] == appid and "day" in doc and doc["day"] >= first.isoformat()
        }

    async def replace_coverage(self, appid: str, totals: dict[str, int]) -> None:
        self.store.coverage[f"{appid}|total"] = {"_id": f"{appid}|total", "appid": appid, "c": dict(totals)}


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


class InMemoryHeldInvitations:
    """:class:`~services.profiles.service_layer.ports.HeldInvitations` in a dict, one per member."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], HeldInvitation] = {}

    async def hold(self, invitation: HeldInvitation) -> None:
        self.held[(invitation.appid, invitation.openid)] = invitation

    async def held_among(self, appid: str, openids: Sequence[str]) -> list[HeldInvitation]:
        return [self.held[(appid, openid)] for openid in dict.fromkeys(openids) if (appid, openid) in self.held]

    async def release(self, appid: str, openid: str) -> None:
        self.held.pop((appid, openid), None)
