"""The campaign worker's composition root: what it reads pushes with, and how each push is routed.

Tests build :class:`CampaignsWorker` with fakes (a memory token store and the simulator's API, say)
through :func:`bootstrap` just as production builds it with MongoDB and the real platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from services.campaigns.adapters import campaigns as campaign_docs
from services.campaigns.adapters import counters as counter_docs
from services.campaigns.adapters import referrals as referral_docs
from services.campaigns.adapters import reward_pools, templates
from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.directory import CampaignDirectoryAdapter
from services.campaigns.adapters.participation_events import MongoStandings, PublishedParticipation
from services.campaigns.adapters.posters import PosterRenderer
from services.campaigns.adapters.referrals import (
    MongoNoticeStore,
    MongoReferralStore,
    MongoReferralUnitOfWork,
)
from services.campaigns.adapters.reward_pools import MongoRewardPools
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.stats import MongoCounterRebuild
from services.campaigns.adapters.templates import MongoTemplateStore
from services.campaigns.domain.campaign import Campaign
from services.campaigns.service_layer import counters, joining, notices, referrals, share_screenshots
from services.campaigns.service_layer.participation import announce_everyone
from services.campaigns.service_layer.ports import (
    DeliveryRecords,
    ParticipationAnnouncer,
    PosterRendererPort,
    ReferralStore,
    ReferralUnitOfWork,
    RewardPools,
    ScreenshotAnalysis,
    ShareScreenshotStore,
)
from services.campaigns.settings import CampaignsSettings
from services.screenshots import AnalysisPool, DecisionThresholds, ImageLimits, load_thresholds
from shared.contracts import (
    TOPICS,
    ImageMessageReceived,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    QrCodeScanned,
    TextMessageReceived,
)
from shared.events import Envelope, Message
from shared.messaging import EventPublisher, OutboxRelay, PermanentHandlerError, connect_publisher
from shared.storage import PROCESSED_EVENTS_INDEXES, connect
from shared.wechat_client import ACCESS_TOKEN_INDEXES, MongoTokenStore, WeChatClient, WeChatClients

log = structlog.get_logger("campaigns.worker")

INDEXES = (
    *campaign_docs.INDEXES,
    *referral_docs.INDEXES,
    *reward_pools.INDEXES,
    *templates.INDEXES,
    *share_docs.INDEXES,
    *counter_docs.INDEXES,
    *PROCESSED_EVENTS_INDEXES,
    *ACCESS_TOKEN_INDEXES,
)


@dataclass
class CampaignsWorker:
    """Routes each push to the campaign flows it concerns; pushes that concern none are ignored."""

    settings: CampaignsSettings
    directory: CampaignDirectoryAdapter
    uow: Callable[[], ReferralUnitOfWork]
    #: Participants outside any transaction (the MongoDB adapters here; the in-memory ones in tests).
    store: ReferralStore
    notice_store: DeliveryRecords
    pools: RewardPools
    clients: WeChatClients
    renderer: PosterRendererPort
    screenshots: ShareScreenshotStore
    analysis: ScreenshotAnalysis
    ready: Callable[[], Awaitable[Any]]
    thresholds: DecisionThresholds = field(default_factory=DecisionThresholds)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: Where joins, credits and revocations are announced once committed; None: nowhere.
    announcer: ParticipationAnnouncer | None = None

    def platform(self, appid: str) -> WeChatClient:
        if appid not in self.clients:
            raise PermanentHandlerError(f"no credentials for account {appid} in WECHAT_ACCOUNTS")
        return self.clients[appid]

    async def handle(self, envelope: Envelope, message: Message) -> None:
        appid = envelope.appid
        match message:
            case MemberFollowed(openid=openid, scene=scene):
                await referrals.credit_follow(envelope, message, self.uow(), self.directory, self.announcer)
                await self._join_through_scene(envelope, openid, scene)
                await self._deliver(envelope, interacting=openid)
            case QrCodeScanned(openid=openid, scene=scene):
                await joining.record_scan(envelope, message, self.uow(), self.directory)
                await self._join_through_scene(envelope, openid, scene)
                await self._deliver(envelope, interacting=openid)
            case TextMessageReceived(openid=openid, content=content):
                for campaign in joining.campaigns_for_keyword(await self.directory.joinable(appid), content):
                    await self._join(campaign, openid, "keyword", envelope)
                await self._deliver(envelope, interacting=openid)
            case MenuClicked(openid=openid, key=key):
                for campaign in joining.campaigns_for_menu(await self.directory.joinable(appid), key):
                    await self._join(campaign, openid, "menu", envelope)
                await self._deliver(envelope, interacting=openid)
            case ImageMessageReceived(openid=openid):
                await self._share_screenshot(envelope, message)
                await self._deliver(envelope, interacting=openid)
            case MemberUnfollowed():
                await referrals.revoke_on_unfollow(envelope, message, self.uow(), self.directory, self.announcer)
                await self._deliver(envelope, interacting=None)

    async def _share_screenshot(self, envelope: Envelope, message: ImageMessageReceived) -> None:
        now = self.clock()
        task = await share_screenshots.open_share_task(envelope.appid, message.openid, self.directory, self.store, now)
        if task is None:
            return  # not a share screenshot: a picture for the customer-service team, say
        await share_screenshots.verify_submission(
            envelope,
            message,
            task,
            uow=self.uow(),
            reads=self.screenshots,
            campaigns=self.directory,
            media=self.platform(envelope.appid),
            renderer=self.renderer,
            analysis=self.analysis,
            thresholds=self.thresholds,
            limits=ImageLimits(max_bytes=self.settings.max_screenshot_bytes),
            now=now,
        )

    async def _join_through_scene(self, envelope: Envelope, openid: str, scene: str | None) -> None:
        found = joining.campaign_in_scene(scene)
        if found is None:
            return
        campaign_id, via = found
        campaign = await self.directory.campaign(envelope.appid, campaign_id)
        if campaign is None:
            return
        if via == "campaign_qr" and not campaign.join.follow_qr:
            return
        await self._join(campaign, openid, via, envelope)

    async def _join(self, campaign: Campaign, openid: str, via: str, envelope: Envelope) -> None:
        result = await joining.join(
            campaign,
            openid,
            via,
            envelope,
            store=self.store,
            uow=self.uow(),
            campaigns=self.directory,
            platform=self.platform(campaign.appid),
            renderer=self.renderer,
            now=self.clock(),
            announcer=self.announcer,
        )
        if result.poster_sent:
            log.info("poster sent", campaign=campaign.id, via=via)

    async def _deliver(self, envelope: Envelope, *, interacting: str | None) -> None:
        queued = await self.notice_store.queued_by(envelope.event_id)
        if interacting is not None:  # their interaction opened a window: what was held can go now
            queued += await self.notice_store.held_for(envelope.appid, interacting)
        if not queued:
            return
        await notices.deliver(
            queued,
            store=self.notice_store,
            codes=self.pools,
            rewards=self.notice_store,
            messenger_for=self.platform,
            now=self.clock(),
        )


@asynccontextmanager
async def bootstrap(
    settings: CampaignsSettings,
    *,
    clients: WeChatClients | None = None,
    renderer: PosterRendererPort | None = None,
    analysis: ScreenshotAnalysis | None = None,
    publish: bool = True,
    publisher: EventPublisher | None = None,
) -> AsyncIterator[CampaignsWorker]:
    """MongoDB adapters, one WeChat client per configured account, the poster renderer, a Kafka
    publisher for participation changes, and the outbox relay publishing ``campaigns.activity``.

    ``clients``, ``renderer`` and ``publisher`` replace the real ones (tests: a client on the
    simulator's app, a recording publisher); ``publish=False`` announces nothing.
    """
    # Read before connecting to anything: a broken thresholds file stops the worker at start, by name.
    thresholds = load_thresholds(settings.screenshot_thresholds_file)
    async with AsyncExitStack() as stack:
        mongo = await stack.enter_async_context(connect(settings, INDEXES))
        database = mongo.database
        # Submissions from before the re-use index get their lookup keys (once; none left: one query).
        backfilled = await MongoShareScreenshots(database).backfill_reuse_keys()
        if backfilled:
            log.info("share_reuse_keys_backfilled", submissions=backfilled)
        if clients is None:
            clients = await stack.enter_async_context(
                WeChatClients.for_accounts(settings.wechat_accounts, MongoTokenStore(database), settings.wechat_api)
            )
        if renderer is None:
            renderer = await stack.enter_async_context(
                PosterRenderer(settings.poster_cache_dir, workers=settings.poster_workers)
            )
        if analysis is None:
            # Worker processes start on the first screenshot, not here: most pushes are not pictures.
            pool = AnalysisPool(
                settings.screenshot_workers,
                engine=settings.ocr_engine,
                tessdata=settings.tessdata_dir,
                limits=ImageLimits(max_bytes=settings.max_screenshot_bytes),
                time_limit=settings.screenshot_time_limit,
                thresholds=thresholds,
            )
            stack.callback(pool.close)
            analysis = pool
        if publish and publisher is None:
            publisher = await stack.enter_async_context(connect_publisher(settings, TOPICS))
        if publisher is not None:
            # Publishes what the use cases emitted with their writes (campaigns.activity), the API's
            # reviewer decisions included: they share this database's outbox.
            await stack.enter_async_context(OutboxRelay(database, publisher))
        repository = MongoCampaignRepository(database)

        def uow() -> ReferralUnitOfWork:
            return MongoReferralUnitOfWork(mongo.client, settings.mongodb_database)

        yield CampaignsWorker(
            settings=settings,
            directory=CampaignDirectoryAdapter(repository, MongoTemplateStore(database)),
            uow=uow,
            store=MongoReferralStore(database, None),
            notice_store=MongoNoticeStore(database),
            pools=MongoRewardPools(database),
            clients=clients,
            renderer=renderer,
            screenshots=MongoShareScreenshots(database),
            analysis=analysis,
            thresholds=thresholds,
            ready=mongo.ready,
            announcer=None if publisher is None else PublishedParticipation(publisher),
        )


async def announce_all_participation(settings: CampaignsSettings, *, publisher: EventPublisher | None = None) -> int:
    """Announce every participant's standing on ``campaigns.participation``; how many were announced.

    Run once when segments start keeping their own copy of participation (participants from before
    then), and whenever announcements failed: standings announced before change nothing downstream.
    """
    async with AsyncExitStack() as stack:
        mongo = await stack.enter_async_context(connect(settings))
        if publisher is None:
            publisher = await stack.enter_async_context(connect_publisher(settings, TOPICS))
        standings = MongoStandings(mongo.database).everyone()
        return await announce_everyone(standings, PublishedParticipation(publisher), datetime.now(UTC))


async def rebuild_all_counters(settings: CampaignsSettings, *, appid: str | None = None) -> counters.Rebuilt:
    """Recompute the stats counters of every campaign (of ``appid``) from its records."""
    async with connect(settings, INDEXES) as mongo:
        return await counters.rebuild_counters(MongoCounterRebuild(mongo.database), appid=appid)
