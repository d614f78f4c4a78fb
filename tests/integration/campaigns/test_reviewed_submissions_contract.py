"""The submissions reviewers decided (the labelled export's source): the same answers from MongoDB
(its index, its query) and from the in-memory fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.campaigns.adapters import review_export as review_docs
from services.campaigns.adapters.memory import InMemoryReviewedSubmissions, InMemoryShareScreenshots
from services.campaigns.adapters.review_export import MongoReviewedSubmissions
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer.ports import ReviewedSubmissions, ShareScreenshotStore
from services.screenshots import Decision, Fingerprint
from shared.storage import ensure_indexes
from tests.integration.campaigns.conftest import Records

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def record(name: str, appid: str = "wx1", campaign: str = "c1", status: str = "review") -> SubmissionRecord:
    return SubmissionRecord(
        id=f"{appid}:{name}",
        campaign_id=campaign,
        appid=appid,
        openid=f"o_{name}",
        received_at=START,
        status=status,
        decision={"review": "review", "approved": "approve"}[status],
        reasons=["possibly_reused"] if status == "review" else [],
        evidence={},
        fingerprint=Fingerprint(f"sha-{name}", None),
        decided_by="auto",
        decided_at=START,
    )


async def test_in_memory(in_memory_records: Records) -> None:
    shots = in_memory_records.screenshots
    assert isinstance(shots, InMemoryShareScreenshots)
    await reviewer_decisions_oldest_first_paged_and_scoped(shots, InMemoryReviewedSubmissions(shots.records))


async def test_on_mongodb(mongo_records: Records, database: Any) -> None:
    await ensure_indexes(database, review_docs.INDEXES)
    await reviewer_decisions_oldest_first_paged_and_scoped(
        mongo_records.screenshots, MongoReviewedSubmissions(database)
    )


async def reviewer_decisions_oldest_first_paged_and_scoped(
    shots: ShareScreenshotStore, reviewed: ReviewedSubmissions
) -> None:
    for item in (record("a"), record("b"), record("c", campaign="c2"), record("d", appid="wx2"), record("e")):
        assert await shots.add(item)
    assert await shots.add(record("auto", status="approved"))
    for name, hours, decision in (("b", 1, Decision.APPROVE), ("a", 2, Decision.REJECT), ("c", 3, Decision.APPROVE)):
        settled = await shots.settle_review(f"wx1:{name}", decision, "rita", None, START + timedelta(hours=hours))
        assert settled is not None
    assert await shots.settle_review("wx2:d", Decision.APPROVE, "rita", None, START + timedelta(hours=1))

    async def ids(**query: Any) -> list[str]:
        arguments: dict[str, Any] = {"campaign_id": None, "decided_after": None, "decided_until": None, "limit": 10}
        return [found.id for found in await reviewed.reviewed("wx1", **(arguments | query))]

    # Neither the automatic decision nor the one still in review, nor another account's.
    assert await ids() == ["wx1:b", "wx1:a", "wx1:c"]
    assert await ids(campaign_id="c1") == ["wx1:b", "wx1:a"]
    assert await ids(limit=1) == ["wx1:b"]
    assert await ids(decided_after=START + timedelta(hours=1)) == ["wx1:a", "wx1:c"]
    assert await ids(decided_until=START + timedelta(hours=2)) == ["wx1:b", "wx1:a"]
    found = (await reviewed.reviewed("wx1", campaign_id=None, decided_after=None, decided_until=None, limit=1))[0]
    assert (found.status, found.decided_by, found.decided_at) == ("approved", "rita", START + timedelta(hours=1))
