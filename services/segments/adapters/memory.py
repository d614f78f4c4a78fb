"""The segments stores in memory, for measuring the service's own work and for tests: saved segments
(the ``SegmentRepository`` port, as :class:`~services.segments.adapters.store.MongoSegments`), pushes
(the ``PushRepository`` and the dispatcher's ``PushStore`` ports, as
:class:`~services.segments.adapters.store.MongoPushes`), with the same document shapes, and the copy
of campaign participation (``ParticipationUnitOfWork``, staging like the MongoDB transaction).

:meth:`InMemoryPushes.add_profiles` stands for the profiles the send decision reads (in MongoDB, the
profiles service's collection).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.segments.adapters.consent_documents import consent_from_document, consent_update
from services.segments.adapters.push_documents import draft_content, push_to_document
from services.segments.domain.consents import ConsentChange, ConsentStatus, SubscriptionConsent, consent_id
from services.segments.domain.participation import Standing
from services.segments.domain.pushes import Push
from services.segments.domain.segments import SavedSegment, SegmentNameTaken, SegmentVersionConflict
from shared.events import Envelope, Topic
from shared.storage import InMemoryUnitOfWork

__all__ = [
    "InMemoryConsentUnitOfWork",
    "InMemoryConsents",
    "InMemoryDeliveryUnitOfWork",
    "InMemoryParticipation",
    "InMemoryParticipationUnitOfWork",
    "InMemoryPushes",
    "InMemorySegments",
    "InMemoryWaitingSends",
]

#: The profile fields the send decision reads (what MongoPushes.profiles_of projects).
_PROFILE_FIELDS = ("_id", "openid", "follow", "consents", "last_active_at")
#: A member's last sends kept for the frequency caps (as in MongoDB).
_RECENT_SENDS = 200


def _at(document: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The dict holding a dotted ``path``'s last part, created on the way as ``$set`` does."""
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    return document, last


def _copy_sends(doc: dict[str, Any]) -> dict[str, Any]:
    """A member's sends as a reader may keep them (cheaper than a deep copy: read per send)."""
    copied = dict(doc, recent=list(doc["recent"]))
    if "mass" in doc:
        copied["mass"] = dict(doc["mass"])
    return copied


class InMemorySegments:
    """Saved segments; every save is a new version, kept (newest first)."""

    def __init__(self) -> None:
        self.saved: dict[str, SavedSegment] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}

    async def create(self, appid: str, name: str, description: str, rule: dict[str, Any]) -> SavedSegment:
        if any(s.appid == appid and s.name == name for s in self.saved.values()):
            raise SegmentNameTaken(name)
        now = datetime.now(UTC)
        segment = SavedSegment("seg_" + secrets.token_hex(8), appid, name, description, 1, rule, now, now)
        return self._keep(segment)

    async def update(
        self,
        appid: str,
        segment_id: str,
        name: str,
        description: str,
        rule: dict[str, Any],
        expected_version: int | None = None,
    ) -> SavedSegment | None:
        current = await self.get(appid, segment_id)
        if current is None:
            return None
        if expected_version is not None and current.version != expected_version:
            raise SegmentVersionConflict(segment_id, expected_version, current.version)
        if any(s.appid == appid and s.name == name and s.id != segment_id for s in self.saved.values()):
            raise SegmentNameTaken(name)
        updated = replace(
            current,
            name=name,
            description=description,
            rule=rule,
            version=current.version + 1,
            updated_at=datetime.now(UTC),
        )
        return self._keep(updated)

    def _keep(self, segment: SavedSegment) -> SavedSegment:
        self.saved[segment.id] = segment
        version = {
            "version": segment.version,
            "name": segment.name,
            "rule": segment.rule,
            "saved_at": segment.updated_at,
        }
        self.history.setdefault(segment.id, []).insert(0, version)
        return segment

    async def get(self, appid: str, segment_id: str) -> SavedSegment | None:
        found = self.saved.get(segment_id)
        return found if found is not None and found.appid == appid else None

    async def of_account(self, appid: str) -> list[SavedSegment]:
        return sorted((s for s in self.saved.values() if s.appid == appid), key=lambda s: s.name)

    async def versions(self, segment_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.history.get(segment_id, []))

    async def delete(self, appid: str, segment_id: str) -> bool:
        if await self.get(appid, segment_id) is None:
            return False
        del self.saved[segment_id]
        return True


class InMemoryPushes:
    """Pushes, their frozen audiences, deliveries and members' recent sends."""

    def __init__(self) -> None:
        self.pushes: dict[str, dict[str, Any]] = {}
        self.audiences: dict[str, list[list[str]]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.member_sends: dict[str, dict[str, Any]] = {}
        self.template_msgs: dict[str, dict[str, Any]] = {}
        self.clicks: dict[str, dict[str, Any]] = {}
        self.testers_of: dict[str, list[dict[str, str]]] = {}
        self.test_sends: list[dict[str, Any]] = []
        self.anonymous_clicks: dict[str, int] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        #: What every committed transaction emitted, in order (the outbox, for tests to read).
        self.emitted: list[tuple[Topic, Envelope]] = []

    def transaction(self, *, fresh: bool = False) -> InMemoryDeliveryUnitOfWork:
        return InMemoryDeliveryUnitOfWork(self)  # keeps the first entry of an id either way

    def add_profiles(self, documents: Iterable[dict[str, Any]]) -> None:
        """Profiles in the profiles service's document shape (``_id`` is "appid:openid")."""
        for doc in documents:
            self.profiles[doc["_id"]] = {name: doc[name] for name in _PROFILE_FIELDS if name in doc}

    # -- pushes -----------------------------------------------------------------------------------------

    async def insert(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.pushes:
            raise KeyError(f"push {doc['_id']!r} exists")
        self.pushes[doc["_id"]] = copy.deepcopy(doc)

    async def add(self, push: Push) -> dict[str, Any]:
        doc = push_to_document(push)
        await self.insert(doc)
        return doc

    async def of_account(self, appid: str, limit: int = 100, project_id: str | None = None) -> list[dict[str, Any]]:
        mine = [
            doc
            for doc in self.pushes.values()
            if doc["appid"] == appid and (project_id is None or doc.get("project_id") == project_id)
        ]
        return copy.deepcopy(sorted(mine, key=lambda d: d["created_at"], reverse=True)[:limit])

    async def transition(
        self, push_id: str, from_statuses: Sequence[str], to_status: str, **fields: Any
    ) -> dict[str, Any] | None:
        doc = self.pushes.get(push_id)
        if doc is None or doc["status"] not in from_statuses:
            return None
        doc |= copy.deepcopy({"status": to_status, **fields})
        return copy.deepcopy(doc)

    async def save_audience(self, push_id: str, openids: Sequence[str], chunk: int) -> int:
        self.audiences[push_id] = [list(openids[i : i + chunk]) for i in range(0, len(openids), chunk)]
        return len(self.audiences[push_id])

    async def deliveries_of(self, push_id: str, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        mine = (
            d for d in self.deliveries.values() if d["push_id"] == push_id and (status is None or d["status"] == status)
        )
        ordered = sorted(mine, key=lambda d: d["openid"])[:limit]
        return [{key: value for key, value in d.items() if key != "_id"} for d in ordered]

    async def count_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> bool:
        return await self.record_click(push_id, variant, openid, url, at) <= 1

    async def record_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> int:
        # A mass send's clicks are anonymous (no openid): each counts, on one counter per variant.
        if not openid:
            key = f"{push_id}:{variant}:~anonymous"
            self.anonymous_clicks[key] = self.anonymous_clicks.get(key, 0) + 1
            return 0
        key = f"{push_id}:{variant}:{openid}"
        if key in self.clicks:
            self.clicks[key]["repeats"] = self.clicks[key].get("repeats", 0) + 1
            self.clicks[key]["last_at"] = at
            if url not in self.clicks[key]["urls"]:
                self.clicks[key]["urls"].append(url)
            return 1 + int(self.clicks[key]["repeats"])
        self.clicks[key] = {"push_id": push_id, "variant": variant, "openid": openid, "url": url, "first_at": at}
        self.clicks[key]["urls"] = [url]
        return 1

    # -- drafts, usage, a member's pushes, testers -------------------------------------------------------

    def _draft(self, push_id: str, version: int | None) -> dict[str, Any] | None:
        doc = self.pushes.get(push_id)
        if doc is None or doc["status"] != "draft" or (version is not None and doc.get("version", 1) != version):
            return None
        return doc

    async def edit_draft(self, push: Push, version: int) -> dict[str, Any] | None:
        doc = self._draft(push.id, version)
        if doc is None:
            return None
        doc |= draft_content(push) | {"version": version + 1}
        return copy.deepcopy(doc)

    async def send_draft(self, push_id: str, version: int, send_at: datetime) -> dict[str, Any] | None:
        doc = self._draft(push_id, version)
        if doc is None:
            return None
        doc |= {"status": "scheduled", "send_at": send_at, "version": version + 1}
        return copy.deepcopy(doc)

    async def delete_draft(self, push_id: str, version: int | None) -> bool:
        if self._draft(push_id, version) is None:
            return False
        del self.pushes[push_id]
        return True

    async def of_segment(self, appid: str, segment_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return [doc for doc in await self.of_account(appid, limit=len(self.pushes)) if doc["segment_id"] == segment_id][
            :limit
        ]

    async def of_member(self, appid: str, openid: str, limit: int) -> list[dict[str, Any]]:
        mine = [d for d in self.deliveries.values() if d["appid"] == appid and d["openid"] == openid]
        ordered = sorted(mine, key=lambda d: d["created_at"], reverse=True)[:limit]
        return [{key: value for key, value in d.items() if key != "_id"} for d in ordered]

    async def clicks_of(self, openid: str, push_ids: Sequence[str]) -> list[dict[str, Any]]:
        wanted = set(push_ids)
        return [dict(c) for c in self.clicks.values() if c["openid"] == openid and c["push_id"] in wanted]

    async def testers(self, appid: str) -> list[dict[str, str]]:
        return copy.deepcopy(self.testers_of.get(appid, []))

    async def set_testers(self, appid: str, testers: Sequence[dict[str, str]]) -> None:
        self.testers_of[appid] = [dict(t) for t in testers]

    async def record_test_sends(self, documents: Sequence[dict[str, Any]]) -> None:
        self.test_sends += copy.deepcopy(list(documents))

    # -- the dispatcher's store ----------------------------------------------------------------------------

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None:
        due = [
            doc
            for doc in self.pushes.values()
            if doc["status"] in statuses
            and doc["send_at"] is not None  # a draft sent "when sent" has none: never due, as in MongoDB
            and doc["send_at"] <= now
            and (doc.get("resume_at") is None or doc["resume_at"] <= now)
            and (doc.get("lease_until") is None or doc["lease_until"] <= now)
            # A broadcast whose mass send is out waits for MASSSENDJOBFINISH, not for a sender.
            and not (doc.get("cursor") or {}).get("done")
        ]
        if not due:
            return None
        doc = min(due, key=lambda d: d["send_at"])
        doc |= {"status": to_status, "lease_until": now + lease, "resume_at": None}
        return copy.deepcopy(doc)

    async def get(self, push_id: str, appid: str | None = None) -> dict[str, Any] | None:
        doc = self.pushes.get(push_id)
        if doc is None or (appid is not None and doc["appid"] != appid):
            return None
        return copy.deepcopy(doc)

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None:
        doc = self.pushes.get(push_id)
        if doc is None:
            return
        for path, value in fields.items():
            target, last = _at(doc, path)
            target[last] = copy.deepcopy(value)
        for path, by in (inc or {}).items():
            target, last = _at(doc, path)
            target[last] = target.get(last, 0) + by

    async def audience_chunk(self, push_id: str, chunk: int) -> list[str] | None:
        chunks = self.audiences.get(push_id, [])
        return list(chunks[chunk]) if chunk < len(chunks) else None

    async def recorded(self, push_id: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = (self.deliveries.get(f"{push_id}:{openid}") for openid in openids)
        return {doc["openid"]: dict(doc) for doc in found if doc is not None}

    async def record(self, documents: Sequence[dict[str, Any]]) -> set[str]:
        taken = set()
        for doc in documents:
            if doc["_id"] in self.deliveries:
                taken.add(doc["openid"])
            else:
                self.deliveries[doc["_id"]] = dict(doc)
        return taken

    async def settle(self, outcomes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for delivery_id, fields in outcomes:
            if delivery_id in self.deliveries:
                self.deliveries[delivery_id] |= fields

    async def remember_templates(self, appid: str, push_id: str, sent: Sequence[tuple[int, str, str]]) -> None:
        for msgid, delivery, variant in sent:
            key = f"{appid}:{msgid}"
            self.template_msgs[key] = {"_id": key, "delivery_id": delivery, "push_id": push_id, "variant": variant}

    async def forget(self, delivery_ids: Sequence[str]) -> None:
        for delivery_id in delivery_ids:
            self.deliveries.pop(delivery_id, None)

    async def profiles_of(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = (self.profiles.get(f"{appid}:{openid}") for openid in openids)
        return {doc["openid"]: doc for doc in found if doc is not None}

    async def recent_sends(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = (self.member_sends.get(f"{appid}:{openid}") for openid in openids)
        return {doc["openid"]: _copy_sends(doc) for doc in found if doc is not None}

    async def count_sends(self, appid: str, openids: Sequence[str], at: datetime, month: str | None = None) -> None:
        for openid in openids:
            self._add_send(f"{appid}:{openid}", openid, at, month)

    def _add_send(self, key: str, openid: str, entry: Any, month: str | None) -> None:
        doc = self.member_sends.setdefault(key, {"_id": key, "openid": openid, "recent": []})
        doc["recent"] = [*doc["recent"], entry][-_RECENT_SENDS:]
        doc["v"] = doc.get("v", 0) + 1
        if month is not None:
            mass = doc.setdefault("mass", {})
            mass[month] = mass.get(month, 0) + 1

    async def reserve_sends(
        self, appid: str, push_id: str, members: Sequence[tuple[str, int]], at: datetime, month: str | None = None
    ) -> set[str]:
        lost = set()
        for openid, version in members:
            key = f"{appid}:{openid}"
            if self.member_sends.get(key, {}).get("v", 0) != version:
                lost.add(openid)
                continue
            self._add_send(key, openid, {"at": at, "push": push_id}, month)
        return lost

    async def release_sends(self, appid: str, push_id: str, openids: Sequence[str]) -> None:
        for openid in openids:
            doc = self.member_sends.get(f"{appid}:{openid}")
            if doc is not None:
                doc["recent"] = [e for e in doc["recent"] if not (isinstance(e, dict) and e.get("push") == push_id)]


_ABSENT = object()


class _JournaledDeliveries:
    """The delivery writes of :class:`InMemoryPushes`, each remembering what it replaced so that an
    aborted transaction can put it back (MongoDB's transaction, in memory)."""

    def __init__(self, pushes: InMemoryPushes, journal: list[tuple[dict[str, Any], str, Any]]) -> None:
        self._pushes = pushes
        self._journal = journal

    def _keep(self, table: dict[str, Any], key: str, *, flat: bool = False) -> None:
        before = table.get(key, _ABSENT)
        if before is not _ABSENT:
            before = copy.copy(before) if flat else copy.deepcopy(before)
        self._journal.append((table, key, before))

    async def settle(self, outcomes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for delivery_id, _ in outcomes:
            self._keep(self._pushes.deliveries, delivery_id, flat=True)  # a record's fields are flat
        await self._pushes.settle(outcomes)

    async def remember_templates(self, appid: str, push_id: str, sent: Sequence[tuple[int, str, str]]) -> None:
        for msgid, _, _ in sent:
            self._keep(self._pushes.template_msgs, f"{appid}:{msgid}")
        await self._pushes.remember_templates(appid, push_id, sent)

    async def forget(self, delivery_ids: Sequence[str]) -> None:
        for delivery_id in delivery_ids:
            self._keep(self._pushes.deliveries, delivery_id, flat=True)
        await self._pushes.forget(delivery_ids)

    async def count_sends(self, appid: str, openids: Sequence[str], at: datetime, month: str | None = None) -> None:
        for openid in openids:
            self._keep(self._pushes.member_sends, f"{appid}:{openid}")
        await self._pushes.count_sends(appid, openids, at, month)

    async def release_sends(self, appid: str, push_id: str, openids: Sequence[str]) -> None:
        for openid in openids:
            self._keep(self._pushes.member_sends, f"{appid}:{openid}")
        await self._pushes.release_sends(appid, push_id, openids)

    async def record_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> int:
        self._keep(self._pushes.clicks, f"{push_id}:{variant}:{openid}")
        self._keep(self._pushes.anonymous_clicks, f"{push_id}:{variant}:~anonymous")
        return await self._pushes.record_click(push_id, variant, openid, url, at)


class InMemoryDeliveryUnitOfWork(InMemoryUnitOfWork):
    """Delivery and click records and the events reporting them, committed together or not at all:
    writes go straight to the :class:`InMemoryPushes` and are undone if the block is left without
    ``commit``; what commits is emitted to the store's shared :attr:`InMemoryPushes.emitted`."""

    def __init__(self, pushes: InMemoryPushes) -> None:
        super().__init__()
        self.emitted = pushes.emitted
        self._pushes = pushes
        self._journal: list[tuple[dict[str, Any], str, Any]] = []
        self._writes: _JournaledDeliveries | None = None

    @property
    def deliveries(self) -> _JournaledDeliveries:
        if self._writes is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._writes

    def _begin(self) -> None:
        self._journal = []
        self._writes = _JournaledDeliveries(self._pushes, self._journal)

    def _apply(self) -> None:
        self._journal = []

    def _end(self) -> None:
        for table, key, before in reversed(self._journal):  # left without commit: undo
            if before is _ABSENT:
                table.pop(key, None)
            else:
                table[key] = before
        self._journal, self._writes = [], None


Campaign = tuple[str, str, str]


class InMemoryParticipation:
    """Campaign standings keyed as in MongoDB: (account, member, campaign)."""

    def __init__(self, kept: dict[Campaign, Standing]) -> None:
        self._kept = kept

    async def kept(self, appid: str, openid: str, campaign_id: str) -> Standing | None:
        return self._kept.get((appid, openid, campaign_id))

    async def keep(self, standing: Standing) -> None:
        self._kept[(standing.appid, standing.openid, standing.campaign_id)] = standing


class InMemoryParticipationUnitOfWork(InMemoryUnitOfWork):
    """Standings and processed-event claims that commit together or not at all. Reusable: each
    ``async with`` is one transaction over the same committed state."""

    def __init__(self) -> None:
        super().__init__()
        self.committed: dict[Campaign, Standing] = {}
        self._staged: dict[Campaign, Standing] = {}
        self._store: InMemoryParticipation | None = None

    @property
    def participation(self) -> InMemoryParticipation:
        if self._store is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._store

    def _begin(self) -> None:
        self._staged = dict(self.committed)  # standings are frozen: sharing them is safe
        self._store = InMemoryParticipation(self._staged)

    def _apply(self) -> None:
        self.committed = dict(self._staged)

    def _end(self) -> None:
        self._store, self._staged = None, {}


class InMemoryWaitingSends:
    """The ``waiting`` delivery records of an :class:`InMemoryPushes` (``adapters/waiting_store.py``)."""

    def __init__(self, pushes: InMemoryPushes) -> None:
        self._deliveries = pushes.deliveries

    def _waiting(self) -> list[dict[str, Any]]:
        return [d for d in self._deliveries.values() if d["status"] == "waiting"]

    async def open_window(self, appid: str, openid: str, until: datetime, now: datetime) -> list[dict[str, Any]]:
        found = [d for d in self._waiting() if d["appid"] == appid and d["openid"] == openid and d["wait_until"] > now]
        for doc in found:
            doc["window_until"] = until
        return [dict(d) for d in found]

    async def ready(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        found = [d for d in self._waiting() if d.get("window_until") is not None and d["window_until"] > now]
        return [dict(d) for d in sorted(found, key=lambda d: d["window_until"])[:limit]]

    async def due_to_expire(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        found = [d for d in self._waiting() if d["wait_until"] <= now]
        return [dict(d) for d in sorted(found, key=lambda d: d["wait_until"])[:limit]]

    async def take(self, delivery_id: str, now: datetime) -> bool:
        doc = self._deliveries.get(delivery_id)
        if doc is None or doc["status"] != "waiting":
            return False
        doc |= {"status": "sending", "channel": "customer_service", "taken_at": now}
        return True

    async def close_window(self, delivery_id: str) -> None:
        doc = self._deliveries.get(delivery_id)
        if doc is not None and doc["status"] == "waiting":
            doc["window_until"] = None

    async def put_back(self, delivery_id: str) -> None:
        doc = self._deliveries.get(delivery_id)
        if doc is not None and doc["status"] == "sending":
            doc |= {"status": "waiting", "window_until": None}
            doc.pop("channel", None)
            doc.pop("taken_at", None)

    async def finish(self, delivery_id: str, fields: Mapping[str, Any]) -> bool:
        doc = self._deliveries.get(delivery_id)
        if doc is None or doc["status"] != "waiting":
            return False
        doc |= {**fields, "window_until": None}
        return True


class InMemoryConsents:
    """Subscription-message consents keyed as in MongoDB (``adapters/consents.py``), the same updates."""

    def __init__(self, documents: dict[str, dict[str, Any]] | None = None) -> None:
        self.documents: dict[str, dict[str, Any]] = {} if documents is None else documents

    async def apply(
        self,
        appid: str,
        openid: str,
        template_id: str,
        change: ConsentChange,
        *,
        long_term: bool,
        at: datetime,
        answer: str = "",
    ) -> None:
        key = consent_id(appid, openid, template_id)
        update = consent_update(change, long_term=long_term, at=at, answer=answer)
        doc = self.documents.get(key)
        if doc is None:
            doc = {"_id": key, "appid": appid, "openid": openid, "template_id": template_id}
            doc |= update.get("$setOnInsert", {})
        doc = doc | update.get("$set", {})
        for name, by in update.get("$inc", {}).items():
            doc[name] = doc.get(name, 0) + by
        self.documents[key] = doc

    async def of_member(self, appid: str, openid: str) -> list[SubscriptionConsent]:
        found = [d for d in self.documents.values() if d["appid"] == appid and d["openid"] == openid]
        return [consent_from_document(d) for d in sorted(found, key=lambda d: d["template_id"])]

    async def usable(
        self, appid: str, openids: Sequence[str], template_ids: Sequence[str]
    ) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for openid in openids:
            for template_id in set(template_ids):
                doc = self.documents.get(consent_id(appid, openid, template_id))
                if doc is not None and consent_from_document(doc).usable:
                    found.setdefault(openid, set()).add(template_id)
        return {openid: frozenset(templates) for openid, templates in found.items()}

    async def claim(self, appid: str, wanted: Sequence[tuple[str, str]], at: datetime) -> dict[str, bool]:
        claimed: dict[str, bool] = {}
        for openid, template_id in wanted:
            doc = self.documents.get(consent_id(appid, openid, template_id))
            if doc is None or doc["status"] != ConsentStatus.ACCEPTED.value:
                continue
            if doc.get("long_term"):
                doc["used_at"] = at
                claimed[openid] = False
            elif doc.get("credits", 0) >= 1:
                doc["credits"] -= 1
                doc["used_at"] = at
                claimed[openid] = True
        return claimed

    async def release(self, appid: str, given_back: Sequence[tuple[str, str]]) -> None:
        for openid, template_id in given_back:
            doc = self.documents.get(consent_id(appid, openid, template_id))
            if doc is not None and not doc.get("long_term") and doc["status"] == ConsentStatus.ACCEPTED.value:
                doc["credits"] = doc.get("credits", 0) + 1


class InMemoryConsentUnitOfWork(InMemoryUnitOfWork):
    """Consents and processed-event claims that commit together or not at all; :attr:`store` is the
    committed state (the dispatcher's claims go to it directly, as in MongoDB outside a transaction)."""

    def __init__(self, store: InMemoryConsents | None = None) -> None:
        super().__init__()
        self.store = store or InMemoryConsents()
        self._staged: InMemoryConsents | None = None

    @property
    def consents(self) -> InMemoryConsents:
        if self._staged is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._staged

    def _begin(self) -> None:
        self._staged = InMemoryConsents(copy.deepcopy(self.store.documents))

    def _apply(self) -> None:
        assert self._staged is not None
        self.store.documents.clear()
        self.store.documents.update(self._staged.documents)

    def _end(self) -> None:
        self._staged = None
