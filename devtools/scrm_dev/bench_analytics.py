"""The analytics rows of ``scrm bench``: events per second per ``analytics-worker`` process.

Three rows, so a number can be traced to its cause:

1. the worker's own work: Kafka record bytes through the batch runner (envelope and catalog decoding),
   the service layer's batch fold and the domain, with the in-memory store (the round trips discarded);
2. the same batches written to SecantusDB from the bench process (no Kafka);
3. the whole path as users run it: a generator publishes the synthetic traffic to the three topics
   first, then one real ``analytics-worker`` process starts and consumes it in batches into
   SecantusDB; timed from its first claimed event to its last, so the group join is not counted.

The traffic (:func:`analytics_traffic`) is one account's month: follows and unfollows with their
sources, campaign activity (posters, scans, credits, revocations, tiers, rewards, screenshot
decisions) and push deliveries, failures and clicks with variants and projects.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from scrm_dev.launcher import ServiceProcess
from services.analytics.adapters.memory_rollups import InMemoryRollupsUnitOfWork
from services.analytics.adapters.rollup_store import ROLLUP_INDEXES, MongoRollupsUnitOfWork
from services.analytics.service_layer.ports import RollupsUnitOfWork
from services.analytics.service_layer.rollups import RollupFolder
from services.analytics.settings import AnalyticsSettings
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    CATALOG,
    PUSH_DELIVERIES,
    TOPICS,
    WECHAT_PUSHES,
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
    MemberFollowed,
    MemberUnfollowed,
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
)
from shared.events import Envelope, Message, Topic
from shared.localinfra import free_port
from shared.messaging import Delivery, KafkaEventPublisher, PermanentHandlerError, dispatch_batch, ensure_topics
from shared.settings import ServiceSettings
from shared.storage import PROCESSED_EVENTS, PROCESSED_EVENTS_INDEXES, create_client, ensure_indexes

__all__ = ["DEFAULT_EVENTS", "analytics_traffic", "bench_analytics"]

Row = tuple[str, str, str]

#: Events per run: under a minute on SecantusDB on a small machine (make bench, not make test).
DEFAULT_EVENTS = 10_000
APPID = "wx_bench_analytics"
_CONSUMERS = ("analytics-follows", "analytics-campaigns", "analytics-pushes")


def analytics_traffic(*, events: int, members: int, seed: int = 11) -> list[tuple[Topic, Envelope]]:
    """``events`` events of one account over 30 days: 30% follows and unfollows, 30% campaign activity,
    40% push deliveries, failures and clicks."""
    rng = random.Random(seed)  # noqa: S311  (reproducible traffic, not secrets)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    campaigns = [f"c{n}" for n in range(5)]
    pushes = [f"p{n}" for n in range(20)]
    out: list[tuple[Topic, Envelope]] = []
    for n in range(events):
        openid = f"o_{rng.randrange(members):07d}"
        at = start + timedelta(seconds=30 * 86400 * n / events)
        campaign = rng.choice(campaigns)
        roll = rng.random()
        topic: Topic
        message: Message
        if roll < 0.3:
            topic = WECHAT_PUSHES
            if rng.random() < 0.75:
                scene = rng.choice([None, f"r.{campaign}.p{rng.randrange(99)}", f"j.{campaign}", "store-1"])
                message = MemberFollowed(openid=openid, followed_at=at, scene=scene)
            else:
                message = MemberUnfollowed(openid=openid, unfollowed_at=at)
        elif roll < 0.6:
            topic = CAMPAIGN_ACTIVITY
            message = _campaign_event(rng, openid, f"o_{rng.randrange(members):07d}", campaign, at, n)
        else:
            topic = PUSH_DELIVERIES
            common: dict[str, Any] = {
                "openid": openid,
                "push_id": rng.choice(pushes),
                "segment_id": f"s{rng.randrange(8)}",
                "variant": rng.choice([None, "A", "B"]),
                "project_id": rng.choice([None, "pr1", "pr2"]),
            }
            kind = rng.random()
            if kind < 0.75:
                message = PushDelivered(channel="template", delivered_at=at, **common)
            elif kind < 0.8:
                message = PushDeliveryFailed(
                    channel="template", errcode=rng.choice([43004, 45009]), failed_at=at, **common
                )
            else:
                message = PushClicked(first=rng.random() < 0.7, click_id=f"k{n}", clicked_at=at, **common)
        out.append((topic, Envelope.wrap(message, appid=APPID, key=openid, event_id=f"bench-{seed}-{n}")))
    return out


def _campaign_event(rng: random.Random, openid: str, other: str, campaign: str, at: datetime, n: int) -> Message:
    kind = rng.random()
    if kind < 0.3:
        return CampaignPosterSent(openid=openid, campaign_id=campaign, sent_at=at)
    if kind < 0.5:
        return CampaignPosterScanned(
            openid=other, campaign_id=campaign, inviter_openid=openid, new_follower=rng.random() < 0.6, scanned_at=at
        )
    if kind < 0.7:
        return CampaignInviteCredited(openid=openid, campaign_id=campaign, invitee_openid=other, credited_at=at)
    if kind < 0.75:
        return CampaignCreditRevoked(openid=openid, campaign_id=campaign, invitee_openid=other, revoked_at=at)
    if kind < 0.82:
        return CampaignTierReached(openid=openid, campaign_id=campaign, tier=rng.randint(1, 3), reached_at=at)
    if kind < 0.88:
        return CampaignRewardGranted(
            openid=openid, campaign_id=campaign, tier=rng.randint(1, 3), basis="invites", granted_at=at
        )
    outcome = rng.choice(["approved", "approved", "rejected", "queued"])
    return CampaignScreenshotDecided(
        openid=openid,
        campaign_id=campaign,
        submission_id=f"s{n}",
        outcome=outcome,
        reasons=[] if outcome == "approved" else [rng.choice(["no_poster", "not_moments", "private_post"])],
        decided_by=rng.choice(["auto", "reviewer"]),
        submitted_at=at - timedelta(minutes=rng.randrange(2000)),
        decided_at=at,
    )


def _records(traffic: Sequence[tuple[Topic, Envelope]]) -> dict[str, list[Delivery]]:
    by_topic: dict[str, list[Delivery]] = {}
    for topic, envelope in traffic:
        log = by_topic.setdefault(topic.name, [])
        log.append(Delivery(topic.name, 0, len(log), envelope.key.encode(), envelope.to_bytes()))
    return by_topic


class _DeadLetters:
    """Where a benchmark's failed events would go; any at all make the benchmark fail, with the reason."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def publish(self, topic: object, envelope: Envelope) -> None:
        self.reasons.append(str(envelope.payload.get("reason")))

    def check(self) -> None:
        if self.reasons:
            raise RuntimeError(f"{len(self.reasons)} benchmark events failed, first: {self.reasons[0]}")


async def through_runner(
    traffic: Sequence[tuple[Topic, Envelope]], batch_size: int, uow: Callable[[], RollupsUnitOfWork]
) -> float:
    """Seconds to take the traffic, topic after topic, through the batch runner and the batch fold."""
    folder = RollupFolder(uow)

    async def single(envelope: Envelope, message: Message) -> None:
        raise PermanentHandlerError("its batch failed (see the log)")

    async def batch_handler(batch: Sequence[tuple[Envelope, Message]]) -> None:
        await folder.fold(batch)

    deadletters = _DeadLetters()
    started = time.perf_counter()
    for records in _records(traffic).values():
        for offset in range(0, len(records), batch_size):
            await dispatch_batch(
                records[offset : offset + batch_size],
                consumer="analytics",
                batch_handler=batch_handler,
                handler=single,
                catalog=CATALOG,
                deadletters=deadletters,
            )
    deadletters.check()
    return time.perf_counter() - started


async def _to_storage(
    settings: ServiceSettings, database: str, traffic: Sequence[tuple[Topic, Envelope]], batch_size: int
) -> float:
    client = create_client(settings)
    try:
        await ensure_indexes(client[database], (*ROLLUP_INDEXES, *PROCESSED_EVENTS_INDEXES))
        seconds = await through_runner(traffic, batch_size, lambda: MongoRollupsUnitOfWork(client, database))
        claimed = await client[database][PROCESSED_EVENTS].count_documents({})
        if claimed != len(traffic):
            raise RuntimeError(f"{claimed} of {len(traffic)} events claimed")
        return seconds
    finally:
        await client.drop_database(database)
        await client.close()


async def _publish(settings: ServiceSettings, prefix: str, traffic: Sequence[tuple[Topic, Envelope]]) -> None:
    await ensure_topics(settings.kafka_bootstrap_servers, TOPICS, prefix=prefix)
    async with KafkaEventPublisher(settings.kafka_bootstrap_servers, topic_prefix=prefix, client_id="bench") as kafka:
        for offset in range(0, len(traffic), 2000):
            await asyncio.gather(*(kafka.publish(t, e) for t, e in traffic[offset : offset + 2000]))


async def _claims_over_time(settings: ServiceSettings, database: str, n: int) -> tuple[float, int, float]:
    """When the worker's first batch had committed (monotonic seconds) with how many events, and when
    all ``n`` had."""
    client = create_client(settings)
    first: tuple[float, int] | None = None
    try:
        async with asyncio.timeout(1800):
            while True:
                # A count by metadata: polling must not load the server it measures.
                claimed = await client[database][PROCESSED_EVENTS].estimated_document_count()
                now = time.monotonic()
                if claimed and first is None:
                    first = (now, claimed)
                if claimed >= n:
                    return (*(first or (now, 0)), now)
                await asyncio.sleep(0.2)
    finally:
        await client.close()


def _handler_totals(metrics: str) -> tuple[float, float]:
    """(batches, seconds) of the worker's three consumers, from its Prometheus text."""
    calls = busy = 0.0
    for line in metrics.splitlines():
        for consumer in _CONSUMERS:
            if line.startswith(f'scrm_handler_seconds_count{{consumer="{consumer}"}}'):
                calls += float(line.rsplit(" ", 1)[1])
            elif line.startswith(f'scrm_handler_seconds_sum{{consumer="{consumer}"}}'):
                busy += float(line.rsplit(" ", 1)[1])
    return calls or float("nan"), busy


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bench_analytics(
    console: Console, settings: ServiceSettings, state_dir: Path, *, events: int = DEFAULT_EVENTS
) -> list[Row]:
    """The analytics rows; starts local infrastructure, publishes the traffic, then runs one worker."""
    from scrm_dev.stack import benchmark_stack

    batch_size = AnalyticsSettings.model_fields["rollup_batch_size"].default
    members = max(10, events // 4)
    traffic = analytics_traffic(events=events, members=members)
    uow = InMemoryRollupsUnitOfWork()
    with console.status("analytics events in process..."):
        own = asyncio.run(through_runner(traffic, batch_size, lambda: uow))
    rows: list[Row] = [
        (
            f"analytics events, one worker's own work, batches of {batch_size} (MongoDB round trips discarded)",
            f"{events / own:,.0f} events/s",
            f"{1000 * own / events * batch_size:.1f} ms per batch; {len(uow.documents):,} rollups, "
            f"{len(uow.committed_followers):,} followers",
        )
    ]
    with benchmark_stack(console, settings, state_dir, "bench-analytics", only=[]) as stack:
        with console.status("analytics events in process, writes to SecantusDB..."):
            written = asyncio.run(_to_storage(settings, f"{stack.database}_inproc", traffic, batch_size))
        rows.append(
            (
                f"analytics events, batches of {batch_size}, writes to SecantusDB in process ({events:,} events)",
                f"{events / written:,.0f} events/s",
                f"{1000 * written / events * batch_size:.0f} ms per batch (claims, followers read and written, "
                "one $inc per rollup)",
            )
        )
        with console.status(f"publishing {events:,} analytics events..."):
            asyncio.run(_publish(settings, stack.topic_prefix, traffic))
        env = {
            "ENVIRONMENT": "development",
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "MONGODB_URL": settings.mongodb_url.get_secret_value(),
            "MONGODB_DATABASE": stack.database,
            "TOPIC_PREFIX": stack.topic_prefix,
            "LOG_FORMAT": "json",
            "KAFKA_SESSION_TIMEOUT_SECONDS": "3",
        }
        worker = ServiceProcess("analytics-worker", free_port(), env, stack.logs / "analytics-worker.log")
        worker.start()
        try:
            with console.status(f"{events:,} events through one analytics worker..."):
                worker.wait_ready()
                first, first_batch, last = asyncio.run(_claims_over_time(settings, stack.database, events))
            metrics = httpx.get(f"{worker.url}/metrics", timeout=10).text
            rss = float("nan") if worker.pid is None else _rss_mb(worker.pid)
        finally:
            worker.stop()
    batches, busy = _handler_totals(metrics)
    seconds = max(last - first, 1e-3)
    rows.append(
        (
            f"analytics events, Kafka → one analytics-worker → SecantusDB ({events:,} pre-published events)",
            f"{(events - first_batch) / seconds:,.0f} events/s",
            f"first to last claim {seconds:.1f} s; {batches:.0f} batches of {events / batches:.0f} on average, "
            f"{1000 * busy / batches:.0f} ms each from arrival to commit (the three topics' batches take turns); "
            f"worker resident memory {rss:.0f} MB",
        )
    )
    return rows
