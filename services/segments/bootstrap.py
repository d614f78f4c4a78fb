"""The segments service's composition root.

The API process holds the live index (built from MongoDB, followed through ``profile.changed``) and
freezes the audiences of pushes that come due; the worker sends them, settles the platform's
job-finish pushes, keeps segments' copy of campaign participation from ``campaigns.participation``
and relays the outbox (``segments.deliveries``: what the dispatcher and the public click redirect
emitted) to Kafka.
Tests pass a fake :class:`Sender` or skip the change feed, and get the rest real.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from httpx_aiohttp import AiohttpTransport

from services.segments.adapters import participation as participation_docs
from services.segments.adapters.change_feed import ProfileChangeFeed
from services.segments.adapters.consents import CONSENT_INDEXES, MongoConsents, MongoConsentUnitOfWork
from services.segments.adapters.facts import MongoFacts
from services.segments.adapters.participation import MongoParticipationUnitOfWork
from services.segments.adapters.push_documents import push_from_document
from services.segments.adapters.store import INDEXES, MongoPushes, MongoSegments
from services.segments.adapters.waiting_store import WAITING_INDEXES, MongoWaitingSends
from services.segments.adapters.wechat_sender import WeChatSender
from services.segments.domain.pushes import BEIJING
from services.segments.service_layer.audience import freeze_next
from services.segments.service_layer.consents import ConsentGate
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.ports import ConsentStore, ConsentUnitOfWork, ParticipationUnitOfWork, Sender
from services.segments.service_layer.waiting import WaitingSends
from services.segments.settings import SegmentsSettings
from shared.contracts import TOPICS
from shared.datarights import MemberRights, MongoMemberRights
from shared.maternal_infant import Taxonomy, load_taxonomy
from shared.messaging import EventPublisher, OutboxRelay, connect_publisher, ensure_topics
from shared.storage import PROCESSED_EVENTS_INDEXES, connect
from shared.wechat_client import (
    ACCESS_TOKEN_INDEXES,
    HttpLane,
    MongoTokenStore,
    RateLimit,
    SharedRateLimiter,
    WeChatApiConfig,
    WeChatClients,
)

__all__ = ["SegmentsService", "bootstrap_api", "bootstrap_public", "bootstrap_worker", "send_config"]

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SegmentsService:
    settings: SegmentsSettings
    taxonomy: Taxonomy
    segments: MongoSegments
    pushes: MongoPushes
    readiness: dict[str, Callable[[], Awaitable[Any]]]
    clock: Clock = _utcnow
    #: The API's live index and where its facts come from; None in the worker.
    live: LiveIndex | None = None
    facts: MongoFacts | None = None
    #: The worker's dispatcher; None in the API.
    dispatcher: Dispatcher | None = None
    clients: WeChatClients | None = None
    sender: Sender | None = None
    #: Transactions over segments' copy of campaign participation (the worker keeps it from events).
    participation: Callable[[], ParticipationUnitOfWork] | None = None
    #: The worker's outbox relay (publishes what the dispatcher and the click redirect emitted).
    relay: OutboxRelay | None = None
    #: Erased members (the worker drops their events); set by the worker's bootstrap.
    rights: MemberRights | None = None
    #: The worker's sends that wait for members' windows (service_layer/waiting.py).
    waiting: WaitingSends | None = None
    #: Members' subscription-message consents (domain/consents.py), and transactions over them with the
    #: processed-event claims (the worker keeps them from the platform's pushes).
    consents: ConsentStore | None = None
    consent_transactions: Callable[[], ConsentUnitOfWork] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def known_tags(self) -> frozenset[str]:
        return frozenset(self.taxonomy.tags)

    def tag_name(self, code: str) -> str:
        return self.taxonomy.name(code) if code in self.taxonomy else code


def _forever(
    name: str, every: float, step: Callable[[], Coroutine[Any, Any, Any]]
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A loop that runs ``step`` every ``every`` seconds and outlives its failures (logged)."""

    async def loop() -> None:
        while True:
            try:
                busy = await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background step failed", loop=name)
                busy = False
            if not busy:
                await asyncio.sleep(every)

    return loop


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def _common(settings: SegmentsSettings, clock: Clock) -> AsyncIterator[tuple[SegmentsService, AsyncExitStack]]:
    taxonomy = load_taxonomy(settings.taxonomy_path)
    indexes = (
        *INDEXES,
        *participation_docs.INDEXES,
        *PROCESSED_EVENTS_INDEXES,
        *ACCESS_TOKEN_INDEXES,
        *WAITING_INDEXES,
        *CONSENT_INDEXES,
    )
    async with AsyncExitStack() as stack:
        mongo = await stack.enter_async_context(connect(settings, indexes))
        client, database = mongo.client, mongo.database
        service = SegmentsService(
            settings, taxonomy, MongoSegments(database), MongoPushes(database), {"mongodb": mongo.ready}, clock
        )
        service.participation = lambda: MongoParticipationUnitOfWork(client, settings.mongodb_database)
        service.consents = MongoConsents(database)
        service.consent_transactions = lambda: MongoConsentUnitOfWork(client, settings.mongodb_database)
        stack.push_async_callback(_cancel, service.tasks)
        yield service, stack


@asynccontextmanager
async def bootstrap_api(
    settings: SegmentsSettings,
    *,
    follow_changes: bool = True,
    clock: Clock = _utcnow,
    sender: Sender | None = None,
) -> AsyncIterator[SegmentsService]:
    """MongoDB, the live index (built before this yields) and its background upkeep, and a WeChat
    sender for test sends to the accounts' testers (``sender`` replaces it)."""
    async with _common(settings, clock) as (service, stack):
        if sender is None:
            service.clients = await stack.enter_async_context(
                WeChatClients.for_accounts(
                    settings.wechat_accounts, MongoTokenStore(service.pushes.profiles.database), settings.wechat_api
                )
            )
            sender = WeChatSender(service.clients)
        service.sender = sender
        facts = service.facts = MongoFacts(service.pushes.profiles.database)
        live = service.live = LiveIndex(facts)
        feed: ProfileChangeFeed | None = None
        if follow_changes:
            await ensure_topics(settings.kafka_bootstrap_servers, TOPICS, prefix=settings.topic_prefix)
            feed = ProfileChangeFeed(settings.kafka_bootstrap_servers, settings.topic_prefix, settings.service_name)
            await feed.start()  # before the build: nothing written meanwhile is missed
            stack.push_async_callback(feed.stop)
            stack.push_async_callback(_cancel, service.tasks)  # the loops stop before the feed does
        await live.rebuild(clock())

        if feed is not None:
            changes = feed

            async def follow() -> bool:
                members = await changes.next_batch()
                if members:
                    await live.refresh(members, clock())
                return True  # next_batch waits by itself

            service.tasks.append(asyncio.create_task(_forever("profile changes", 1.0, follow)()))

        async def campaigns() -> bool:
            await live.refresh_campaigns(clock())
            return False

        async def sweep() -> bool:
            await live.sweep(clock())
            return False

        async def daily() -> bool:
            now = clock()
            built = live.built_at or now
            due = datetime.combine(built.astimezone(BEIJING).date(), datetime.min.time(), tzinfo=BEIJING)
            due += timedelta(days=1, hours=settings.rebuild_hour)
            if now >= due:
                await live.rebuild(now)
            return False

        async def freeze() -> bool:
            return await freeze_next(service.pushes, service.segments, live, clock(), settings.audience_chunk)

        service.tasks += [
            asyncio.create_task(_forever("campaign refresh", settings.campaign_refresh_seconds, campaigns)()),
            asyncio.create_task(_forever("sweep", settings.sweep_seconds, sweep)()),
            asyncio.create_task(_forever("daily rebuild", 60.0, daily)()),
            asyncio.create_task(_forever("freeze audiences", settings.poll_seconds, freeze)()),
        ]
        yield service


@asynccontextmanager
async def bootstrap_public(settings: SegmentsSettings, *, clock: Clock = _utcnow) -> AsyncIterator[SegmentsService]:
    """MongoDB only: the public click redirect needs the pushes' records, not the live index."""
    async with _common(settings, clock) as (service, _stack):
        yield service


SEND_APIS = ("message/custom/send", "message/template/send", "message/subscribe/bizsend")


def send_config(settings: SegmentsSettings) -> WeChatApiConfig:
    """The WeChat API settings with the worker's pace for the send APIs (explicit limits win)."""
    pace = RateLimit(calls=settings.send_rate_per_second, period=1.0, burst=max(1, settings.send_rate_per_second // 20))
    limits = dict.fromkeys(SEND_APIS, pace) | dict(settings.wechat_api.rate_limits)
    return settings.wechat_api.model_copy(update={"rate_limits": limits})


@asynccontextmanager
async def bootstrap_worker(
    settings: SegmentsSettings,
    *,
    sender: Sender | None = None,
    clock: Clock = _utcnow,
    dispatch: bool = True,
    publisher: EventPublisher | None = None,
) -> AsyncIterator[SegmentsService]:
    """MongoDB, the WeChat clients, the dispatcher loop and the outbox relay for as long as the worker
    runs; ``sender`` replaces the WeChat sender, ``publisher`` the Kafka producer."""
    async with _common(settings, clock) as (service, stack):
        if publisher is None:
            publisher = await stack.enter_async_context(connect_publisher(settings, TOPICS))
        # One relay per service is enough: the public app's clicks land in this database's outbox too.
        service.relay = await stack.enter_async_context(OutboxRelay(service.pushes.profiles.database, publisher))
        if sender is None:
            database = service.pushes.profiles.database
            # aiohttp under httpx: sends are this worker's hot path, and httpcore costs three times the CPU;
            # JSON calls (every send) skip httpx and aiohttp too: the lane writes and parses HTTP itself.
            api = send_config(settings)
            # Several workers send for one account: its pace is theirs together.
            shared = SharedRateLimiter(database, api, apis=SEND_APIS) if settings.send_limit_shared else None
            service.clients = await stack.enter_async_context(
                WeChatClients.for_accounts(
                    settings.wechat_accounts,
                    MongoTokenStore(database),
                    api,
                    transport=AiohttpTransport(),
                    lane=HttpLane(timeout=api.timeout, connect_timeout=api.connect_timeout),
                    rate_limiter=shared,
                )
            )
            sender = WeChatSender(service.clients)
        service.sender = sender
        service.rights = MongoMemberRights(service.pushes.profiles.database)
        dispatcher = service.dispatcher = Dispatcher(
            service.pushes,
            sender,
            DispatchConfig(
                click_base_url=settings.public_base_url,
                click_key=settings.click_link_secret.get_secret_value().encode(),
                click_ttl=timedelta(days=settings.click_link_days),
                slice_size=settings.dispatch_chunk,
                concurrency=settings.dispatch_concurrency,
                retries=settings.send_retries,
                retry_seconds=settings.send_retry_seconds,
            ),
            read_push=push_from_document,
            clock=clock,
            consents=ConsentGate(service.consents) if service.consents is not None else None,
        )
        waiting = service.waiting = WaitingSends(
            service.pushes,
            MongoWaitingSends(service.pushes.profiles.database),
            sender,
            dispatcher.personalize,
            read_push=push_from_document,
            clock=clock,
            retries=settings.send_retries,
            retry_seconds=settings.send_retry_seconds,
        )
        if dispatch:
            service.tasks.append(
                asyncio.create_task(_forever("dispatch", settings.poll_seconds, dispatcher.run_once)())
            )
            service.tasks.append(asyncio.create_task(_forever("waiting sends", settings.poll_seconds, waiting.sweep)()))
        yield service
