"""The dispatcher's store in memory: the :class:`~services.segments.service_layer.ports.PushStore` port
without a server, for measuring the dispatcher's own work and for tests.

Documents have the shapes :class:`~services.segments.adapters.store.MongoPushes` stores, and
:meth:`InMemoryPushStore.insert` and :meth:`InMemoryPushStore.save_audience` seed it the way the API and
the freeze fill MongoDB; :meth:`InMemoryPushStore.add_profiles` stands for the profiles the send
decision reads.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

__all__ = ["InMemoryPushStore"]

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


class InMemoryPushStore:
    def __init__(self) -> None:
        self.pushes: dict[str, dict[str, Any]] = {}
        self.audiences: dict[str, list[list[str]]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.member_sends: dict[str, dict[str, Any]] = {}
        self.template_msgs: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}

    # -- seeding (what the API, the freeze and the profiles service write) ----------------------------

    async def insert(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.pushes:
            raise KeyError(f"push {doc['_id']!r} exists")
        self.pushes[doc["_id"]] = copy.deepcopy(doc)

    async def save_audience(self, push_id: str, openids: Sequence[str], chunk: int) -> int:
        self.audiences[push_id] = [list(openids[i : i + chunk]) for i in range(0, len(openids), chunk)]
        return len(self.audiences[push_id])

    def add_profiles(self, documents: Iterable[dict[str, Any]]) -> None:
        """Profiles in the profiles service's document shape (``_id`` is "appid:openid")."""
        for doc in documents:
            self.profiles[doc["_id"]] = {name: doc[name] for name in _PROFILE_FIELDS if name in doc}

    # -- the port --------------------------------------------------------------------------------------

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None:
        due = [
            doc
            for doc in self.pushes.values()
            if doc["status"] in statuses
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
            key = f"{appid}:{openid}"
            doc = self.member_sends.setdefault(key, {"_id": key, "openid": openid, "recent": []})
            doc["recent"] = [*doc["recent"], at][-_RECENT_SENDS:]
            if month is not None:
                mass = doc.setdefault("mass", {})
                mass[month] = mass.get(month, 0) + 1
