"""Members' data rights against a real MongoDB-protocol server: with every store's indexes in place, the
export holds each store of the member, and after the erasure no document of any collection in the
database names the member, while the counted documents stay."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from shared.datarights import ERASURES, MongoMemberRights, erasure_id
from shared.storage import IndexSpec, ensure_indexes
from tests.unit.shared.test_datarights import APPID, OPENID, OTHER, T0, _stores
from tests.unit.shared.test_retention import _storage_modules

pytestmark = pytest.mark.integration


def _every_index() -> list[IndexSpec]:
    specs: set[IndexSpec] = set()
    for name in _storage_modules():
        for value in vars(importlib.import_module(name)).values():
            for spec in value if isinstance(value, tuple | list) else (value,):
                if isinstance(spec, IndexSpec):
                    specs.add(spec)
    return sorted(specs, key=lambda spec: (spec.collection, spec.keys))


async def _mentions(database: Any, openid: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in await database.list_collection_names():
        async for document in database[name].find():
            if openid in repr(document):
                found[name] = found.get(name, 0) + 1
    return found


async def test_export_and_erasure_over_every_store(database: Any) -> None:
    await ensure_indexes(database, _every_index())
    stores = _stores()
    for collection, documents in stores.items():
        await database[collection].insert_many(documents)
    counted = {name: await database[name].count_documents({}) for name in stores}
    rights = MongoMemberRights(database)

    exported = await rights.export(APPID, OPENID, now=T0)
    assert set(exported["collections"]) == set(stores)
    assert OTHER not in json.dumps(exported)
    assert exported["collections"]["share_submission_images"][0]["image"] == {"base64": "iVBORw=="}

    report = await rights.erase(APPID, OPENID, by="ada", now=T0)
    assert await _mentions(database, OPENID) == {}
    assert set(await _mentions(database, OTHER)) >= {"members", "profiles", "push_deliveries", "deadletters"}
    for kept in ("push_deliveries", "push_clicks", "campaign_participants", "campaign_rewards", "share_submissions"):
        assert await database[kept].count_documents({}) == counted[kept], kept
    for gone in ("members", "profiles", "profile_history", "share_submission_images", "campaign_known_followers"):
        assert await database[gone].count_documents({}) == counted[gone] - 1, gone
    record = await database[ERASURES].find_one({"_id": erasure_id(APPID, OPENID)})
    assert record is not None and record["counts"] == {k: dict(v) for k, v in report.counts.items()}

    # Repeating it changes nothing; later events are dropped until a newer follow.
    assert (await rights.erase(APPID, OPENID, by="ada", now=T0)).total == 0
    assert await rights.suppressed(APPID, OPENID, T0, follow=False)
    erased_again = await rights.export(APPID, OPENID)
    assert erased_again["collections"] == {} and erased_again["erased_at"] is not None


async def test_erasure_over_documents_written_by_the_real_adapters(database: Any) -> None:
    """The stores whose shape is least like a member record, written by their own adapters."""
    from services.campaigns.adapters.referrals import MongoReferralStore
    from services.segments.adapters.store import MongoPushes
    from shared.contracts import MessageDeadLettered
    from shared.deadletters import DeadLetter, MongoDeadLetterStore
    from shared.events import Envelope

    await ensure_indexes(database, _every_index())
    pushes = MongoPushes(database)
    for who in (OPENID, OTHER):
        await pushes.record(
            [{"_id": f"p1:{who}", "push_id": "p1", "appid": APPID, "openid": who, "created_at": T0, "status": "sent"}]
        )
        await pushes.remember_templates(APPID, "p1", [(1 if who == OPENID else 2, f"p1:{who}", "a")])
        await pushes.count_sends(APPID, [who], T0, month="2026-12")
        await pushes.record_click("p1", "a", who, "https://shop.example/x", T0)
        await MongoReferralStore(database, None).remember_follower(APPID, who, T0)
        parked = Envelope.wrap(
            MessageDeadLettered(
                consumer="profiles",
                source_topic="wechat.pushes",
                partition=0,
                offset=1 if who == OPENID else 2,
                reason=f"rejected: no profile for {who}",
                attempts=1,
                original=json.dumps({"payload": {"openid": who}}),
                original_key=who,
                failed_at=T0,
            ),
            appid=APPID,
            key=who,
        )
        message = MessageDeadLettered.model_validate(parked.payload)
        await MongoDeadLetterStore(database).add(DeadLetter.parked(parked, message))
    await pushes.save_audience("p1", [OPENID, OTHER], 10)
    await pushes.set_testers(APPID, [{"openid": OPENID, "label": "me"}, {"openid": OTHER, "label": "them"}])

    report = await MongoMemberRights(database).erase(APPID, OPENID, by="ada", now=T0)
    assert await _mentions(database, OPENID) == {}
    assert set(await _mentions(database, OTHER)) >= {
        "push_deliveries",
        "push_template_msgs",
        "push_member_sends",
        "push_clicks",
        "campaign_known_followers",
        "deadletters",
        "push_audiences",
        "push_testers",
    }
    assert report.counts["push_member_sends"] == {"deleted": 1}
    assert report.counts["push_template_msgs"] == {"deleted": 1}
    assert await database["push_clicks"].count_documents({}) == 2  # the click still counts
