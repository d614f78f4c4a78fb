"""In-memory stand-ins for the segments service's ports in unit tests: saved segments, pushes as the
operator's use cases see them, and member facts. Each implements the port named in its docstring."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.segments.adapters.push_documents import push_to_document
from services.segments.domain.pushes import Push
from services.segments.domain.rules import MemberFacts
from services.segments.domain.segments import SavedSegment, SegmentNameTaken

__all__ = ["FakeFacts", "FakePushRepository", "FakeSegments"]

Member = tuple[str, str]


class FakeSegments:
    """:class:`~services.segments.service_layer.ports.SegmentRepository`."""

    def __init__(self) -> None:
        self.saved: dict[str, SavedSegment] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}

    async def create(self, appid: str, name: str, description: str, rule: dict[str, Any]) -> SavedSegment:
        if any(s.appid == appid and s.name == name for s in self.saved.values()):
            raise SegmentNameTaken(name)
        now = datetime.now(UTC)
        segment = SavedSegment(f"seg_{len(self.saved) + 1}", appid, name, description, 1, rule, now, now)
        return self._keep(segment)

    async def update(
        self, appid: str, segment_id: str, name: str, description: str, rule: dict[str, Any]
    ) -> SavedSegment | None:
        current = await self.get(appid, segment_id)
        if current is None:
            return None
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
        return list(self.history.get(segment_id, []))

    async def delete(self, appid: str, segment_id: str) -> bool:
        if await self.get(appid, segment_id) is None:
            return False
        del self.saved[segment_id]
        return True


class FakePushRepository:
    """:class:`~services.segments.service_layer.ports.PushRepository`, documents as MongoDB keeps them."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.audiences: dict[str, list[str]] = {}
        self.clicks: set[tuple[str, str, str]] = set()
        self.deliveries: list[dict[str, Any]] = []
        #: Status a push is moved to behind the caller's back just before its next transition (a race).
        self.race_to: str | None = None

    async def add(self, push: Push) -> dict[str, Any]:
        doc = push_to_document(push)
        self.docs[push.id] = doc
        return dict(doc)

    async def get(self, push_id: str, appid: str | None = None) -> dict[str, Any] | None:
        doc = self.docs.get(push_id)
        return None if doc is None or (appid is not None and doc["appid"] != appid) else dict(doc)

    async def of_account(self, appid: str, limit: int = 100) -> list[dict[str, Any]]:
        mine = [dict(d) for d in self.docs.values() if d["appid"] == appid]
        return sorted(mine, key=lambda d: d["created_at"], reverse=True)[:limit]

    async def transition(
        self, push_id: str, from_statuses: Sequence[str], to_status: str, **fields: Any
    ) -> dict[str, Any] | None:
        doc = self.docs.get(push_id)
        if self.race_to is not None and doc is not None:
            doc["status"], self.race_to = self.race_to, None
        if doc is None or doc["status"] not in from_statuses:
            return None
        doc |= {"status": to_status, **fields}
        return dict(doc)

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None:
        for doc in sorted(self.docs.values(), key=lambda d: d["send_at"]):
            due = doc["send_at"] <= now and (doc.get("resume_at") or now) <= now
            held = (doc.get("lease_until") or now) > now or (doc.get("cursor") or {}).get("done") is True
            if doc["status"] in statuses and due and not held:
                doc |= {"status": to_status, "lease_until": now + lease, "resume_at": None}
                return dict(doc)
        return None

    async def save_audience(self, push_id: str, openids: Sequence[str], chunk: int) -> int:
        self.audiences[push_id] = list(openids)
        return -(-len(openids) // chunk)

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None:
        doc = self.docs[push_id]
        for path, value in {**fields}.items():
            _at(doc, path)[path.rsplit(".", 1)[-1]] = value
        for path, by in (inc or {}).items():
            parent, key = _at(doc, path), path.rsplit(".", 1)[-1]
            parent[key] = parent.get(key, 0) + by

    async def deliveries_of(self, push_id: str, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [d for d in self.deliveries if d["push_id"] == push_id and status in (None, d["status"])][:limit]

    async def count_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> bool:
        key = (push_id, variant, openid)
        if openid and key in self.clicks:
            return False
        self.clicks.add(key)
        return True


def _at(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """The dict that holds the last part of a dotted path, made on the way."""
    node = doc
    for part in path.split(".")[:-1]:
        node = node.setdefault(part, {})
    return node


class FakeFacts:
    """:class:`~services.segments.service_layer.live_index.FactsSource` and ``MemberFactsReader``."""

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
