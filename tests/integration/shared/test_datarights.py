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
