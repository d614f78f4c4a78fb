"""The campaign management API's composition root: MongoDB adapters for campaigns, reward pools and
template images. (The campaign worker has its own; the two are meant to merge into ``bootstrap.py``.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from services.campaigns.adapters import (
    campaigns,
    counters,
    graph,
    referrals,
    review_export,
    reward_pools,
    share_payouts,
    share_screenshots,
    templates,
    variants,
)
from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.graph import MongoReferralGraph
from services.campaigns.adapters.join_codes import MongoJoinCodes
from services.campaigns.adapters.posters import PosterPreviewRenderer
from services.campaigns.adapters.referrals import MongoNoticeStore, MongoReferralStore, MongoReferralUnitOfWork
from services.campaigns.adapters.review_export import MongoReviewedSubmissions
from services.campaigns.adapters.reward_pools import MongoRewardPools
from services.campaigns.adapters.share_payouts import MongoSharePayouts
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.stats import MongoCampaignStats
from services.campaigns.adapters.templates import MongoTemplateStore
from services.campaigns.adapters.variants import MongoPosterVariants
from services.campaigns.service_layer.ports import (
    CampaignRepository,
    CampaignResults,
    JoinCodes,
    PosterPreviews,
    PosterVariants,
    ReferralGraph,
    ReferralStore,
    ReferralUnitOfWork,
    ReviewedSubmissions,
    RewardPools,
    SharePayoutStore,
    ShareScreenshotStore,
    TemplateStore,
)
from services.campaigns.settings import CampaignsSettings
from shared.storage import connect
from shared.wechat_client import ACCESS_TOKEN_INDEXES, MongoTokenStore, WeChatClients

INDEXES = (
    *campaigns.INDEXES,
    *reward_pools.INDEXES,
    *templates.INDEXES,
    *referrals.INDEXES,
    *share_screenshots.INDEXES,
    *share_payouts.INDEXES,
    *review_export.INDEXES,
    *counters.INDEXES,
    *graph.INDEXES,
    *variants.INDEXES,
    *ACCESS_TOKEN_INDEXES,
)


@dataclass(frozen=True)
class CampaignsApi:
    settings: CampaignsSettings
    campaigns: CampaignRepository
    pools: RewardPools
    templates: TemplateStore
    stats: CampaignResults
    join_codes: JoinCodes
    #: The share-screenshot review queue: submissions, the reward and reply a decision causes.
    screenshots: ShareScreenshotStore
    uow: Callable[[], ReferralUnitOfWork]
    notices: MongoNoticeStore
    #: Participants read outside any transaction (whose QR code a screenshot shows).
    participants: ReferralStore
    clients: WeChatClients
    ready: Callable[[], Awaitable[Any]]
    #: Submissions reviewers decided: the review queue's labelled export.
    reviewed: ReviewedSubmissions
    #: Posters for a sample member, outlined, for the operator (the worker renders the members').
    previews: PosterPreviews = field(default_factory=PosterPreviewRenderer)
    #: The referral graph (edges, freezes) and the poster variants; None: those routes are unavailable.
    graph: ReferralGraph | None = None
    variants: PosterVariants | None = None
    #: Delayed share-reward payouts (stats, the participant's payout); None: not kept.
    payouts: SharePayoutStore | None = None


@asynccontextmanager
async def bootstrap(settings: CampaignsSettings) -> AsyncIterator[CampaignsApi]:
    """Open MongoDB, make sure the indexes exist, and yield the adapters the API uses."""
    async with (
        connect(settings, INDEXES) as mongo,
        WeChatClients.for_accounts(
            settings.wechat_accounts, MongoTokenStore(mongo.database), settings.wechat_api
        ) as clients,
    ):
        database = mongo.database
        yield CampaignsApi(
            settings,
            campaigns=MongoCampaignRepository(database),
            pools=MongoRewardPools(database),
            templates=MongoTemplateStore(database),
            stats=MongoCampaignStats(database),
            join_codes=MongoJoinCodes(database, clients),
            screenshots=MongoShareScreenshots(database),
            uow=lambda: MongoReferralUnitOfWork(mongo.client, settings.mongodb_database),
            notices=MongoNoticeStore(database),
            participants=MongoReferralStore(database, None),
            reviewed=MongoReviewedSubmissions(database),
            clients=clients,
            ready=mongo.ready,
            graph=MongoReferralGraph(database),
            variants=MongoPosterVariants(database),
            payouts=MongoSharePayouts(database),
        )
