"""The campaign worker's composition root: what it reads pushes with, and how each push is routed.

Tests build :class:`CampaignsWorker` with fakes (a memory token store and the simulator's API, say)
through :func:`bootstrap` just as production builds it with MongoDB and the real platform.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from services.campaigns.adapters import campaigns as campaign_docs
from services.campaigns.adapters import counters as counter_docs
from services.campaigns.adapters import graph as graph_docs
from services.campaigns.adapters import referrals as referral_docs
from services.campaigns.adapters import reward_pools, templates
from services.campaigns.adapters import share_payouts as payout_docs
from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters import variants as variant_docs
from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.directory import CampaignDirectoryAdapter
from services.campaigns.adapters.graph import MongoReferralGraph
from services.campaigns.adapters.held_notices import HELD_NOTICE_INDEXES, MongoHeldNotices
from services.campaigns.adapters.participation_events import MongoStandings, PublishedParticipation
from services.campaigns.adapters.posters import PosterRenderer
from services.campaigns.adapters.referrals import (
    MongoKnownFollowers,
    MongoNoticeStore,
    MongoReferralStore,
    MongoReferralUnitOfWork,
)
from services.campaigns.adapters.reward_pools import MongoRewardPools
from services.campaigns.adapters.share_payouts import MongoSharePayouts
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.stats import MongoCounterRebuild
from services.campaigns.adapters.templates import MongoTemplateStore
from services.campaigns.adapters.variants import MongoPosterVariants
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.participants import Notice
from services.campaigns.domain.poster_layout import PosterLayout
from services.campaigns.service_layer import (
    counters,
    graph,
    joining,
    notice_fallback,
    notices,
    referrals,
    share_payouts,
    share_screenshots,
)
from services.campaigns.service_layer import known_followers as known_followers_use
from services.campaigns.service_layer.management import ENDED_NOTICE
from services.campaigns.service_layer.participation import announce_everyone
from services.campaigns.service_layer.ports import (
    DeliveryRecords,
    KnownFollowers,
    ParticipationAnnouncer,
    PosterRendererPort,
    PosterVariants,
    ReferralGraph,
    ReferralStore,
    ReferralUnitOfWork,
    RewardPools,
    ScreenshotAnalysis,
    SharePayoutStore,
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
from shared.datarights import MemberRights, MongoMemberRights
from shared.events import Envelope, Message
from shared.messaging import EventPublisher, OutboxRelay, PermanentHandlerError, connect_publisher
from shared.settings import Environment
from shared.storage import PROCESSED_EVENTS_INDEXES, connect
from shared.wechat_client import ACCESS_TOKEN_INDEXES, MongoTokenStore, WeChatClient, WeChatClients

log = structlog.get_logger("campaigns.worker")

INDEXES = (
    *campaign_docs.INDEXES,
    *referral_docs.INDEXES,
    *reward_pools.INDEXES,
    *templates.INDEXES,
    *share_docs.INDEXES,
    *payout_docs.INDEXES,
    *counter_docs.INDEXES,
    *graph_docs.INDEXES,
    *variant_docs.INDEXES,
    *PROCESSED_EVENTS_INDEXES,
    *ACCESS_TOKEN_INDEXES,
    *HELD_NOTICE_INDEXES,
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
    #: Erased members (the worker drops their events); None in memory.
    rights: MemberRights | None = None
    #: The referral graph and the poster variants' counts, kept after each push; None: not kept.
    graph: ReferralGraph | None = None
    variants: PosterVariants | None = None
    #: Delayed share-reward payouts, read outside a transaction (the sweep, re-check routing); None: none.
    payouts: SharePayoutStore | None = None

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
        if self.graph is not None:
            await graph.observe(envelope, message, store=self.store, graph=self.graph, variants=self.variants)

    async def confirm_credits(
        self, now: datetime | None = None, *, as_of: datetime | None = None
    ) -> list[referrals.Confirmed]:
        """Confirm the pending credits whose window (plus the grace) has passed by ``now``, and send
        the tier notices they queued (held until the member's next interaction when the window is shut).

        ``as_of`` judges the windows as of a later time (a rehearsal: ``scrm campaigns confirm-credits
        --as-of``); the records are stamped ``now`` all the same."""
        now = self.clock() if now is None else now
        grace = timedelta(seconds=self.settings.credit_confirm_grace_seconds)
        due = (now if as_of is None else max(now, as_of)) - grace
        confirmed = await referrals.confirm_due(now, self.store, self.uow, self.directory, self.announcer, due_by=due)
        for done in confirmed:
            await self._send_queued(await self.notice_store.queued_by(done.event_id), now)
        return confirmed

    async def send_announcements(self, now: datetime | None = None, *, batch: int = 200) -> int:
        """Send the queued campaign-ended notices (held for members whose window is shut); how many."""
        queued = await self.notice_store.pending_of_kind(ENDED_NOTICE, batch)
        await self._send_queued(queued, self.clock() if now is None else now)
        return len(queued)

    async def _send_queued(self, queued: list[Notice], now: datetime) -> None:
        """Send notices a sweep queued (those whose member's window is shut stay held)."""
        if queued:
            await notices.deliver(
                queued,
                store=self.notice_store,
                codes=self.pools,
                rewards=self.notice_store,
                messenger_for=self.platform,
                now=now,
            )

    async def pay_shares(
        self, now: datetime | None = None, *, as_of: datetime | None = None
    ) -> list[share_payouts.Moved]:
        """Move the delayed share payouts that are due: ask for re-checks, let unanswered ones expire,
        pay; then send the notices they queued (held when the member's window is shut).

        ``as_of`` judges what is due as of a later time (``scrm campaigns pay-shares --as-of``);
        the records are stamped ``now``."""
        if self.payouts is None:
            return []
        now = self.clock() if now is None else now
        due_by = now if as_of is None else max(now, as_of)
        moved = await share_payouts.sweep(now, self.payouts, self.uow, self.directory, due_by=due_by)
        for done in moved:
            await self._send_queued(await self.notice_store.queued_by(done.event_id), now)
        return moved

    async def tick(self) -> None:
        """What the worker does on a timer: confirm due credits, move due share payouts, send
        campaign-ended notices."""
        await self.confirm_credits()
        await self.pay_shares()
        for _ in range(50):  # a bounded round: what a failed send leaves pending waits for the next one
            if await self.send_announcements() < 200:
                break

    async def _share_screenshot(self, envelope: Envelope, message: ImageMessageReceived) -> None:
        now = self.clock()
        if await self._share_recheck(envelope, message, now):
            return
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

    async def _share_recheck(self, envelope: Envelope, message: ImageMessageReceived, now: datetime) -> bool:
        """A picture from a member whose share payout awaits a re-check is that re-check."""
        if self.payouts is None:
            return False
        for payout in await self.payouts.awaiting_recheck(envelope.appid, message.openid):
            campaign = await self.directory.campaign(envelope.appid, payout.campaign_id)
            participant = await self.store.participant(payout.campaign_id, message.openid)
            if campaign is None or participant is None:
                continue
            await share_screenshots.verify_recheck(
                envelope,
                message,
                payout,
                share_screenshots.ShareTask(campaign, participant),
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
            return True
        return False

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
            posters = await stack.enter_async_context(
                PosterRenderer(settings.poster_cache_dir, workers=settings.poster_workers)
            )
            if settings.warm_start:
                warming = asyncio.create_task(posters.warm_up(), name="poster-warm-up")
                stack.push_async_callback(_settle, warming)
            renderer = posters
        if analysis is None:
            # Without warm_start, worker processes start on the first screenshot.
            pool = AnalysisPool(
                settings.screenshot_workers,
                engine=settings.ocr_engine,
                tessdata=settings.tessdata_dir,
                limits=ImageLimits(max_bytes=settings.max_screenshot_bytes),
                time_limit=settings.screenshot_time_limit,
                thresholds=thresholds,
            )
            stack.callback(pool.close)
            if settings.warm_start:
                pool.start_warming()  # in the background: readiness does not wait for the models
            analysis = pool
        if publish and publisher is None:
            publisher = await stack.enter_async_context(connect_publisher(settings, TOPICS))
        if publisher is not None:
            # Publishes what the use cases emitted with their writes (campaigns.activity), the API's
            # reviewer decisions included: they share this database's outbox.
            await stack.enter_async_context(OutboxRelay(database, publisher))
        repository = MongoCampaignRepository(database)
        variants = MongoPosterVariants(database)
        # Held notices fall back to the account's service-notice template (issue 21 item 4).
        fallback = notice_fallback.running(
            MongoHeldNotices(database),
            notice_fallback.templates_of(settings.notice_templates),
            clients.__getitem__,
            lambda: datetime.now(UTC),
            settings.notice_fallback_seconds,
        )
        await stack.enter_async_context(fallback)

        def uow() -> ReferralUnitOfWork:
            return MongoReferralUnitOfWork(mongo.client, settings.mongodb_database)

        worker = CampaignsWorker(
            settings=settings,
            directory=CampaignDirectoryAdapter(repository, MongoTemplateStore(database), variants=variants),
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
            rights=MongoMemberRights(database),
            graph=MongoReferralGraph(database),
            variants=variants,
            payouts=MongoSharePayouts(database),
        )
        if settings.credit_confirm_seconds > 0:
            sweep = asyncio.create_task(_every(settings.credit_confirm_seconds, worker.tick))
            stack.push_async_callback(_cancel, sweep)
        yield worker


class _NoPosters(PosterRendererPort):
    async def render(
        self,
        campaign_id: str,
        template_version: str | int,
        member_key: str,
        template_bytes: bytes,
        layout: PosterLayout,
        qr_url: str,
        texts: Mapping[str, str],
    ) -> bytes:
        raise RuntimeError("a confirmation sweep draws no poster")

    async def aclose(self) -> None:
        return None


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` every ``seconds`` for as long as the worker runs; a failed round is logged and retried."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # the next round retries: a confirmation is idempotent
            log.exception("credit confirmation sweep failed")
        await asyncio.sleep(seconds)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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


def _for_a_sweep(settings: CampaignsSettings) -> CampaignsSettings:
    """The worker's settings for one sweep by hand: no timer, and no screenshot analysis processes
    started ahead (a sweep analyses nothing, and starting them costs seconds on a busy machine)."""
    return settings.model_copy(update={"credit_confirm_seconds": 0.0, "warm_start": False})


async def confirm_credits_now(
    settings: CampaignsSettings, *, as_of: datetime | None = None, publisher: EventPublisher | None = None
) -> list[referrals.Confirmed]:
    """One confirmation sweep, as the worker runs it every ``credit_confirm_seconds``: pending credits
    whose window has passed are confirmed, tiers granted, notices sent or held.

    ``as_of`` runs it as of a later time: only outside production (rehearsals on the simulator, whose
    clock ``/sim/clock/advance`` moves), because confirming a credit early rewards a friend who may
    still leave.
    """
    if as_of is not None and settings.environment is Environment.PRODUCTION:
        raise ValueError("--as-of is refused in production: credits are confirmed when their window has passed")
    # A sweep draws no poster: no renderer processes to start.
    async with bootstrap(_for_a_sweep(settings), publisher=publisher, renderer=_NoPosters()) as worker:
        confirmed: list[referrals.Confirmed] = []
        # The worker's sweep takes a batch at a time; by hand, everything due is confirmed.
        while batch := await worker.confirm_credits(as_of=as_of):
            confirmed += batch
        return confirmed


async def pay_shares_now(
    settings: CampaignsSettings, *, as_of: datetime | None = None, publisher: EventPublisher | None = None
) -> list[share_payouts.Moved]:
    """One payout sweep, as the worker runs it every ``credit_confirm_seconds``: re-checks asked,
    unanswered ones expired, due share rewards paid, their notices sent or held.

    ``as_of`` runs it as of a later time: only outside production (rehearsals on the simulator),
    because paying early pays for a post that may still be deleted."""
    if as_of is not None and settings.environment is Environment.PRODUCTION:
        raise ValueError("--as-of is refused in production: share rewards are paid when their delay has passed")
    async with bootstrap(_for_a_sweep(settings), publisher=publisher, renderer=_NoPosters()) as worker:
        moved: list[share_payouts.Moved] = []
        while batch := await worker.pay_shares(as_of=as_of):  # by hand, everything due is moved
            moved += batch
        return moved


@asynccontextmanager
async def known_followers(settings: CampaignsSettings) -> AsyncIterator[KnownFollowers]:
    """Where ``scrm members import`` seeds the followers it imports (the campaigns database)."""
    async with connect(settings, INDEXES) as mongo:
        yield MongoKnownFollowers(mongo.database)


async def seed_followers_from_platform(
    settings: CampaignsSettings, appid: str, *, progress: Callable[[int, int], None] = lambda done, total: None
) -> tuple[int, int]:
    """Seed every follower ``user/get`` lists for ``appid``; ``(listed, new)``."""
    account = next((a for a in settings.wechat_accounts if a.appid == appid), None)
    if account is None:
        raise LookupError(f"no account {appid!r} in WECHAT_ACCOUNTS")
    async with connect(settings, INDEXES) as mongo:
        secret = account.secret.get_secret_value()
        async with WeChatClient(
            appid, secret, token_store=MongoTokenStore(mongo.database), config=settings.wechat_api
        ) as platform:
            return await known_followers_use.seed_from_platform(
                appid, platform, MongoKnownFollowers(mongo.database), datetime.now(UTC), progress=progress
            )


async def rebuild_all_counters(settings: CampaignsSettings, *, appid: str | None = None) -> counters.Rebuilt:
    """Recompute the stats counters of every campaign (of ``appid``) from its records."""
    async with connect(settings, INDEXES) as mongo:
        return await counters.rebuild_counters(MongoCounterRebuild(mongo.database), appid=appid)


async def backfill_referral_graph(settings: CampaignsSettings, *, appid: str | None = None) -> dict[str, int]:
    """The referral graph's edges of credits recorded before it existed, per account (``appid``, else
    every account of ``WECHAT_ACCOUNTS``): how many edges each gained. Safe to repeat."""
    appids = [appid] if appid is not None else [account.appid for account in settings.wechat_accounts]
    async with connect(settings, INDEXES) as mongo:
        repository, edges = MongoCampaignRepository(mongo.database), MongoReferralGraph(mongo.database)
        return {each: await graph.backfill(repository, edges, each) for each in appids}


async def _settle(task: asyncio.Task[None]) -> None:
    """A warm-up still running at shutdown is cancelled, not left behind."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
