"""The campaign records (participants, referrals, rewards, notices, share screenshots) behind one
interface, in memory or in MongoDB: what the contract suite and the flows that run on both use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from pymongo import AsyncMongoClient

from services.campaigns.adapters import counters as counter_docs
from services.campaigns.adapters import referrals as referral_docs
from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaignResults,
    InMemoryNotices,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
    InMemoryShareScreenshots,
)
from services.campaigns.adapters.referrals import MongoNoticeStore, MongoReferralStore, MongoReferralUnitOfWork
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.stats import MongoCampaignStats
from services.campaigns.service_layer.ports import (
    CampaignResults,
    NoticeStore,
    ReferralStore,
    ReferralUnitOfWork,
    RewardLedger,
    ShareScreenshotStore,
)
from shared.storage import PROCESSED_EVENTS_INDEXES, ensure_indexes
from tests.conftest import Isolation


class Notices(NoticeStore, RewardLedger, Protocol):
    """What delivery uses: ``MongoNoticeStore`` in production."""


@dataclass
class Records:
    """The adapters over one set of records: a new unit of work per call, and the stores as used
    outside any transaction (the API's reads, delivery)."""

    uow: Callable[[], ReferralUnitOfWork]
    store: ReferralStore
    screenshots: ShareScreenshotStore
    notices: Notices
    results: CampaignResults


@pytest.fixture
async def in_memory_records() -> Records:
    kept = CampaignRecords()

    def uow() -> ReferralUnitOfWork:  # also checks (mypy) that it implements the port
        return InMemoryReferralUnitOfWork(kept)

    return Records(
        uow=uow,
        store=InMemoryReferrals(kept),
        screenshots=InMemoryShareScreenshots(kept),
        notices=InMemoryNotices(kept),
        results=InMemoryCampaignResults(kept),
    )


@pytest.fixture
async def mongo_records(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Records:
    await ensure_indexes(
        database, (*referral_docs.INDEXES, *share_docs.INDEXES, *counter_docs.INDEXES, *PROCESSED_EVENTS_INDEXES)
    )

    def uow() -> ReferralUnitOfWork:
        return MongoReferralUnitOfWork(mongo, isolation.database)

    return Records(
        uow=uow,
        store=MongoReferralStore(database, None),
        screenshots=MongoShareScreenshots(database),
        notices=MongoNoticeStore(database),
        results=MongoCampaignStats(database),
    )
