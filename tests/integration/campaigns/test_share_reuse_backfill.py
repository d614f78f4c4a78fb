"""Submissions recorded before the re-use index existed get their lookup keys once, at the worker's
start, against the real MongoDB-protocol server: afterwards the lookup finds them, and their keys count."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.screenshots import Fingerprint, lookup_keys
from services.screenshots.domain.similarity import DESCRIPTOR_SIDE
from shared.storage import ensure_indexes


def descriptor(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, 255, DESCRIPTOR_SIDE * DESCRIPTOR_SIDE, dtype=np.uint8).tobytes()
    return edges + np.packbits(np.ones(DESCRIPTOR_SIDE * DESCRIPTOR_SIDE, dtype=bool)).tobytes()


def old_submission(submission: str, openid: str, context: bytes) -> dict[str, Any]:
    """A submission document as recorded before ``reuse_keys`` existed."""
    return {
        "_id": submission,
        "campaign_id": "c1",
        "appid": "wx1",
        "openid": openid,
        "decision": "approve",
        "status": "approved",
        "evidence": {"qr": "own"},
        "fingerprint": {"sha256": f"sha-{submission}", "context": context, "text": ""},
    }


async def test_old_submissions_get_their_lookup_keys_once(database: Any) -> None:
    await ensure_indexes(database, share_docs.INDEXES)
    store = MongoShareScreenshots(database)
    await database[share_docs.SUBMISSIONS].insert_many(
        [old_submission("wx1:1", "o_a", descriptor(1)), old_submission("wx1:2", "o_b", descriptor(2))]
    )
    keys = lookup_keys(Fingerprint("sha-new", descriptor(1)))
    assert await store.candidates("c1", keys) == []  # not in the index yet

    assert await store.backfill_reuse_keys(batch=1) == 2
    found = await store.candidates("c1", keys)
    assert [shot.submission_id for shot in found] == ["wx1:1"]
    counted = await store._key_counts("c1", lookup_keys(Fingerprint("sha-wx1:1", descriptor(1))))
    assert set(counted.values()) == {1}  # each of its keys counted once

    assert await store.backfill_reuse_keys() == 0  # nothing left: counted once
    assert await store._key_counts("c1", list(counted)) == counted
