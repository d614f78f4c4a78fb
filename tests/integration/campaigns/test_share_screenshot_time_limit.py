"""A screenshot whose analysis goes past the time limit: the live path sends it to review with the
reason ``analysis_timeout`` (the picture kept for the reviewer), and the stuck worker is replaced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from services.campaigns.domain.participants import Participant
from services.screenshots import AnalysisPool, Decision
from tests.integration.campaigns.conftest import Records
from tests.integration.campaigns.test_share_screenshot_decisions import (
    APPID,
    NOW,
    PAYLOADS,
    Inbox,
    decide,
    picture,
)
from tests.unit.screenshots.slow_tasks import HANG, stuck_on_marker


@pytest.fixture(scope="module")
def stuck_pool() -> Iterator[AnalysisPool]:
    pool = AnalysisPool(1, time_limit=0.5, task=stuck_on_marker)
    pool.warm_up()
    try:
        yield pool
    finally:
        pool.close()


async def test_a_picture_past_the_time_limit_goes_to_review(
    in_memory_records: Records, stuck_pool: AnalysisPool
) -> None:
    records = in_memory_records
    for openid, payload in PAYLOADS.items():
        participant = Participant("share1", APPID, openid, f"code{openid}", NOW - timedelta(minutes=30), "campaign_qr")
        participant.qr_ticket, participant.qr_url = f"t-{openid}", payload
        await records.store.add_participant(participant)
    inbox = Inbox()
    assert await decide(*picture("o_mom", "3001", inbox, HANG + b" picture"), records, inbox, stuck_pool) is (
        Decision.REVIEW
    )
    record = await records.screenshots.get(f"{APPID}:3001")
    assert record is not None and (record.status, record.reasons) == ("review", ["analysis_timeout"])
    assert record.ms >= 500
    assert await records.screenshots.image(record.id) is not None  # kept for the reviewer
    notices = await records.notices.queued_by("e-3001")
    assert [notice.kind for notice in notices] == ["share-review"]
    # The worker was replaced: the next picture is analysed (and, being no real screenshot, not approved).
    assert stuck_pool.timeouts == 1
    assert stuck_pool.submit(b"after", b"poster", "p").result(timeout=60)[0].fingerprint.sha256 == b"after".hex()
