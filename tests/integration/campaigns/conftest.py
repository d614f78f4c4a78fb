"""The campaign records (participants, referrals, rewards, notices, share screenshots) behind one
interface, in memory or in MongoDB: what the contract suite and the flows that run on both use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    InMemoryCampaigns,
    InMemoryCounterRebuild,
    InMemoryKnownFollowers,
    InMemoryNotices,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
    InMemoryShareScreenshots,
)
from services.campaigns.adapters.referrals import (
    MongoKnownFollowers,
    MongoNoticeStore,
    MongoReferralStore,
    MongoReferralUnitOfWork,
)
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.stats import MongoCampaignStats, MongoCounterRebuild
from services.campaigns.service_layer.ports import (
    CampaignResults,
    CounterRebuild,
    KnownFollowers,
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


class Rebuild(CounterRebuild, Protocol):
    """The counter rebuild with its recounts (``MongoCounterRebuild`` in production)."""

    async def recount_campaign(self, campaign_id: str) -> dict[str, int]: ...

    async def recount_account(self, appid: str) -> dict[str, int]: ...


@dataclass
class Records:
    """The adapters over one set of records: a new unit of work per call, and the stores as used
    outside any transaction (the API's reads, delivery)."""

    uow: Callable[[], ReferralUnitOfWork]
    store: ReferralStore
    screenshots: ShareScreenshotStore
    notices: Notices
    results: CampaignResults
    #: Recounts the counters from the records; ``forget_counters`` drops them (as before they existed).
    rebuild: Rebuild
    forget_counters: Callable[[], Awaitable[None]]
    #: Followers seeded before the worker saw them follow (``scrm members import``).
    known_followers: KnownFollowers


@pytest.fixture
async def in_memory_records() -> Records:
    kept = CampaignRecords()

    async def forget() -> None:
        kept.counters.clear()

    def uow() -> ReferralUnitOfWork:  # also checks (mypy) that it implements the port
        return InMemoryReferralUnitOfWork(kept)

    return Records(
        uow=uow,
        store=InMemoryReferrals(kept),
        screenshots=InMemoryShareScreenshots(kept),
        notices=InMemoryNotices(kept),
        results=InMemoryCampaignResults(kept),
        rebuild=InMemoryCounterRebuild(kept, InMemoryCampaigns()),
        forget_counters=forget,
        known_followers=InMemoryKnownFollowers(kept),
    )


@pytest.fixture
async def mongo_records(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Records:
    await ensure_indexes(
        database, (*referral_docs.INDEXES, *share_docs.INDEXES, *counter_docs.INDEXES, *PROCESSED_EVENTS_INDEXES)
    )

    def uow() -> ReferralUnitOfWork:
        return MongoReferralUnitOfWork(mongo, isolation.database)

    async def forget() -> None:
        await database[counter_docs.COUNTERS].delete_many({})

    return Records(
        uow=uow,
        store=MongoReferralStore(database, None),
        screenshots=MongoShareScreenshots(database),
        notices=MongoNoticeStore(database),
        results=MongoCampaignStats(database),
        rebuild=MongoCounterRebuild(database),
        forget_counters=forget,
        known_followers=MongoKnownFollowers(database),
    )
