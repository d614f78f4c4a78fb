"""One contract for the review desk's storage, run against the in-memory adapters and MongoDB's: the
account-wide listing and counts, a member's submissions, claims (claim, renew, release, lapse), the
atomic claim of the oldest free submission, a decision under a claim, and whose QR code a payload is."""

from __future__ import annotations

import abc
import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.campaigns.domain.participants import Participant
from services.campaigns.domain.submissions import Claim, SubmissionRecord
from services.screenshots import Decision, Fingerprint
from tests.integration.campaigns.conftest import Records

APPID = "wx1"
# Whole milliseconds: what MongoDB keeps of a time.
T0 = datetime(2026, 11, 23, 8, 0, 0, 123_000, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def submission(
    name: str,
    *,
    status: str = "review",
    minutes: int = 0,
    campaign_id: str = "c1",
    appid: str = APPID,
    openid: str | None = None,
    reasons: tuple[str, ...] = (),
) -> SubmissionRecord:
    decision = {"review": "review", "approved": "approve", "rejected": "reject"}[status]
    return SubmissionRecord(
        id=f"{appid}:{name}",
        campaign_id=campaign_id,
        appid=appid,
        openid=openid or f"o_{name}",
        received_at=T0 + timedelta(minutes=minutes),
        status=status,
        decision=decision,
        reasons=list(reasons),
        evidence={"qr": "own"},
        fingerprint=Fingerprint(f"sha-{name}", b"d", "text"),
        decided_by="auto",
        decided_at=T0 + timedelta(minutes=minutes),
    )


def by(holder: str, at: datetime = T0) -> Claim:
    return Claim(f"id-{holder}", holder, at + LEASE)


class ReviewDeskContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def records(self) -> Records: ...

    async def test_the_account_listing_spans_campaigns_filtered_paged_and_ordered(self, records: Records) -> None:
        shots = records.screenshots
        await shots.add(submission("late", minutes=30, reasons=("possibly_reused",)))
        await shots.add(submission("early", minutes=5, campaign_id="c2", reasons=("qr_unreadable",)))
        await shots.add(submission("middle", minutes=10, openid="o_late"))
        await shots.add(submission("done", status="approved", minutes=1))
        await shots.add(submission("theirs", minutes=0, appid="wx2"))

        async def ids(**query: Any) -> list[str]:
            filters: dict[str, Any] = {
                "campaign_id": None,
                "status": None,
                "reason": None,
                "openid": None,
                "limit": 10,
                "offset": 0,
                "newest_first": False,
            }
            return [r.id.split(":")[1] for r in await shots.account_listing(APPID, **(filters | query))]

        assert await ids() == ["done", "early", "middle", "late"]
        assert await ids(newest_first=True) == ["late", "middle", "early", "done"]
        assert await ids(status="review") == ["early", "middle", "late"]
        assert await ids(status="review", campaign_id="c1") == ["middle", "late"]
        assert await ids(reason="qr_unreadable") == ["early"]
        assert await ids(openid="o_late") == ["middle", "late"]
        assert await ids(limit=2, offset=1) == ["early", "middle"]
        assert await shots.account_counts(APPID, None) == {"review": 3, "approved": 1}
        assert await shots.account_counts(APPID, "c2") == {"review": 1}
        assert await shots.account_counts("wx9", None) == {}
        assert [r.id for r in await shots.listing("c1", **_plain(), openid="o_late")] == [
            f"{APPID}:middle",
            f"{APPID}:late",
        ]
        assert [r.id for r in await shots.of_member("c1", "o_late")] == [f"{APPID}:middle", f"{APPID}:late"]
        assert await shots.of_member("c2", "o_late") == []

    async def test_a_claim_is_one_reviewers_until_released_or_lapsed(self, records: Records) -> None:
        shots = records.screenshots
        await shots.add(submission("mom"))
        await shots.add(submission("dad", status="approved"))
        mom = f"{APPID}:mom"

        claimed = await shots.claim(mom, by("li"), T0)
        assert claimed is not None and claimed.claim == by("li")
        assert await shots.get(mom) == claimed
        renewed = await shots.claim(mom, by("li", T0 + timedelta(minutes=2)), T0 + timedelta(minutes=2))
        assert renewed is not None and renewed.claim == by("li", T0 + timedelta(minutes=2))
        assert await shots.claim(mom, by("wang"), T0 + timedelta(minutes=3)) is None
        assert await shots.claim(f"{APPID}:dad", by("li"), T0) is None  # decided: nothing to claim
        assert await shots.claim(f"{APPID}:nope", by("li"), T0) is None

        assert not await shots.release(mom, "id-wang", T0)
        assert await shots.release(mom, "id-li", T0)
        assert (await shots.get(mom) or submission("x")).claim is None
        assert await shots.release(mom, "id-li", T0)  # nothing to release
        assert await shots.release(f"{APPID}:nope", "id-li", T0)

        await shots.claim(mom, by("wang"), T0)
        lapsed = T0 + LEASE
        assert await shots.release(mom, "id-li", lapsed)  # a lapsed claim is anyone's to drop
        await shots.claim(mom, by("wang"), T0)
        taken = await shots.claim(mom, by("li", lapsed), lapsed)
        assert taken is not None and taken.claim == by("li", lapsed)

    async def test_claim_next_takes_the_oldest_free_submission(self, records: Records) -> None:
        shots = records.screenshots
        await shots.add(submission("old", minutes=1))
        await shots.add(submission("other", minutes=2, campaign_id="c2"))
        await shots.add(submission("new", minutes=3))
        await shots.add(submission("done", status="approved", minutes=0))
        await shots.add(submission("theirs", minutes=0, appid="wx2"))

        first = await shots.claim_next(APPID, None, by("li"), T0)
        assert first is not None and (first.id, first.claim) == (f"{APPID}:old", by("li"))
        mine_again = await shots.claim_next(APPID, None, by("li"), T0)
        assert mine_again is not None and mine_again.id == f"{APPID}:old"
        second = await shots.claim_next(APPID, None, by("wang"), T0)
        assert second is not None and second.id == f"{APPID}:other"
        third = await shots.claim_next(APPID, "c1", by("zhao"), T0)
        assert third is not None and third.id == f"{APPID}:new"
        assert await shots.claim_next(APPID, "c1", by("qian"), T0) is None
        assert await shots.claim_next("wx9", None, by("qian"), T0) is None
        after = await shots.claim_next(APPID, None, by("qian", T0 + LEASE), T0 + LEASE)  # all lapsed
        assert after is not None and after.id == f"{APPID}:old"

    async def test_concurrent_claim_next_hands_each_submission_to_one_reviewer(self, records: Records) -> None:
        shots = records.screenshots
        for n in range(6):
            await shots.add(submission(f"s{n}", minutes=n))
        got = await asyncio.gather(*(shots.claim_next(APPID, None, by(f"r{n}"), T0) for n in range(10)))
        claimed = [record.id for record in got if record is not None]
        assert sorted(claimed) == [f"{APPID}:s{n}" for n in range(6)]
        holders = {record.claim.holder_id for record in got if record is not None and record.claim is not None}
        assert len(holders) == 6

    async def test_a_decision_needs_no_live_claim_of_anyone_else_and_drops_the_claim(self, records: Records) -> None:
        shots = records.screenshots
        await shots.add(submission("mom"))
        mom = f"{APPID}:mom"
        await shots.claim(mom, by("li"), T0)
        assert await shots.settle_review(mom, Decision.APPROVE, "wang", None, T0, reviewer_id="id-wang") is None
        assert await shots.settle_review(mom, Decision.APPROVE, "cli", None, T0) is None  # nobody's id: refused too
        settled = await shots.settle_review(
            mom, Decision.REJECT, "li", "请公开", T0, reviewer_id="id-li", reason="private_post"
        )
        assert settled is not None
        assert (settled.status, settled.claim, settled.review_reason, settled.note) == (
            "rejected",
            None,
            "private_post",
            "请公开",
        )
        assert await shots.get(mom) == settled

        await shots.add(submission("dad"))
        await shots.claim(f"{APPID}:dad", by("li"), T0)
        lapsed = await shots.settle_review(f"{APPID}:dad", Decision.APPROVE, "wang", None, T0 + LEASE)
        assert lapsed is not None and lapsed.decided_by == "wang"

    async def test_a_qr_payload_is_found_as_its_participants_code(self, records: Records) -> None:
        store = records.store
        mom = Participant("c1", APPID, "o_mom", "code-mom", T0, "qr", qr_url="https://qr/mom")
        await store.add_participant(mom)
        await store.add_participant(replace(mom, campaign_id="c2", code="code-x", openid="o_x", qr_url=None))
        assert await store.participant_by_qr_url(APPID, "https://qr/mom") == mom
        assert await store.participant_by_qr_url("wx2", "https://qr/mom") is None
        assert await store.participant_by_qr_url(APPID, "https://qr/nobody") is None


def _plain() -> dict[str, Any]:
    return {"status": None, "reason": None, "received_before": None, "limit": 10, "offset": 0}


class TestInMemoryReviewDesk(ReviewDeskContract):
    @pytest.fixture
    async def records(self, in_memory_records: Records) -> Records:
        return in_memory_records


@pytest.mark.integration
class TestMongoReviewDesk(ReviewDeskContract):
    @pytest.fixture
    async def records(self, mongo_records: Records) -> Records:
        return mongo_records
