"""A share screenshot's picture starts its retention when a reviewer decides it: the TTL index counts
from ``decided_at``, which a picture still waiting for a person does not have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.campaigns.adapters import counters as counter_docs
from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters.share_screenshots import IMAGES, MongoShareScreenshots
from services.campaigns.domain.submissions import SubmissionRecord
from services.screenshots import Decision, Fingerprint
from shared.settings import ServiceSettings
from shared.storage import ensure_indexes, with_retention

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def waiting(submission: str) -> SubmissionRecord:
    return SubmissionRecord(
        id=submission,
        campaign_id="share1",
        appid="wxretention0001",
        openid=f"o-{submission}",
        received_at=NOW - timedelta(minutes=5),
        status="review",
        decision="review",
        reasons=["low_confidence"],
        evidence={},
        fingerprint=Fingerprint(sha256=submission.ljust(64, "0"), context=None),
        decided_by="auto",
        decided_at=NOW - timedelta(minutes=5),
    )


async def test_a_decided_picture_counts_down_and_a_waiting_one_does_not(database: Any) -> None:
    settings = ServiceSettings(review_image_retention_days=3)
    await ensure_indexes(database, with_retention((*share_docs.INDEXES, *counter_docs.INDEXES), settings))
    info = await database[IMAGES].index_information()
    assert [i.get("expireAfterSeconds") for i in info.values() if i["key"] == [("decided_at", 1)]] == [3 * 86400]

    store = MongoShareScreenshots(database)
    for submission in ("s1", "s2"):
        assert await store.add(waiting(submission))
        await store.keep_image(submission, b"\x89PNG...", "image/png")
    settled = await store.settle_review("s1", Decision.APPROVE, "ops-li", None, NOW)
    assert settled is not None and settled.status == "approved"

    decided = await database[IMAGES].find_one({"_id": "s1"})
    assert decided is not None and decided["decided_at"].replace(tzinfo=UTC) == NOW
    pending = await database[IMAGES].find_one({"_id": "s2"})
    assert pending is not None and "decided_at" not in pending
    assert await store.image("s1") == (b"\x89PNG...", "image/png")  # still there for the export until then
