"""Push records that grow with every send carry the date their retention counts from, and the process
declares their collections so it adds the TTL indexes (``shared.storage.with_retention``)."""

from __future__ import annotations

from typing import Any

import pytest

from services.segments.adapters.store import AUDIENCES, INDEXES, TEMPLATE_MSGS, MongoPushes
from shared.settings import ServiceSettings
from shared.storage import ensure_indexes, with_retention

pytestmark = pytest.mark.integration


async def test_audiences_and_template_msgids_expire_with_the_deliveries(database: Any) -> None:
    settings = ServiceSettings(deliveries_retention_days=5)
    await ensure_indexes(database, with_retention(INDEXES, settings))
    for collection, field in ((AUDIENCES, "created_at"), (TEMPLATE_MSGS, "sent_at"), ("push_deliveries", "created_at")):
        info = await database[collection].index_information()
        assert [i.get("expireAfterSeconds") for i in info.values() if i["key"] == [(field, 1)]] == [5 * 86400]

    pushes = MongoPushes(database)
    assert await pushes.save_audience("p1", [f"o{n}" for n in range(5)], 2) == 3
    await pushes.remember_templates("wxapp", "p1", [(1001, "p1:o1", "A")])
    assert await database[AUDIENCES].count_documents({"created_at": {"$type": "date"}}) == 3
    assert await database[TEMPLATE_MSGS].count_documents({"sent_at": {"$type": "date"}}) == 1
