"""The ``analytics-worker`` process against the real Kafka-protocol broker and MongoDB-protocol server:
events published on its three topics become rollups; the same events published again (an outbox relay
repeating itself) change nothing, while a new event still counts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from scrm_dev.launcher import ServiceProcess
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    PUSH_DELIVERIES,
    TOPICS,
    WECHAT_PUSHES,
    CampaignInviteCredited,
    CampaignPosterSent,
    CampaignScreenshotDecided,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    PushClicked,
    PushDelivered,
)
from shared.events import Envelope, Message, Topic
from shared.localinfra import free_port
from shared.messaging import KafkaEventPublisher, ensure_topics
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

APPID = "wxrollworker"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = "2026-12-01"


def published(topic: Topic, message: Message, event_id: str, key: str) -> tuple[Topic, Envelope]:
    return topic, Envelope.wrap(message, appid=APPID, key=key, event_id=event_id)


SCREENSHOT = CampaignScreenshotDecided(
    openid="o0",
    campaign_id="c1",
    submission_id="s1",
    outcome="rejected",
    reasons=["not_moments"],
    decided_by="reviewer",
    submitted_at=T0 - timedelta(hours=2),
    decided_at=T0,
)
EVENTS = [
    published(WECHAT_PUSHES, MemberFollowed(openid="o1", followed_at=T0, scene="r.c1.p0"), "f1", "o1"),
    published(WECHAT_PUSHES, MenuClicked(openid="o1", clicked_at=T0, key="menu"), "m1", "o1"),
    published(
        CAMPAIGN_ACTIVITY,
        CampaignInviteCredited(openid="o0", campaign_id="c1", invitee_openid="o1", credited_at=T0),
        "cr1",
        "o0",
    ),
    published(WECHAT_PUSHES, MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(days=2)), "u1", "o1"),
    published(CAMPAIGN_ACTIVITY, CampaignPosterSent(openid="o0", campaign_id="c1", sent_at=T0), "ps1", "o0"),
    published(CAMPAIGN_ACTIVITY, SCREENSHOT, "sd1", "o0"),
    published(
        PUSH_DELIVERIES,
        PushDelivered(
            openid="o2", push_id="p1", segment_id="s1", project_id="pr1", channel="template", delivered_at=T0
        ),
        "d1",
        "o2",
    ),
    published(
        PUSH_DELIVERIES,
        PushClicked(openid="o2", push_id="p1", segment_id="s1", first=True, click_id="k1", clicked_at=T0),
        "k1",
        "o2",
    ),
]

EXPECTED = {
    f"{APPID}|account|{DAY}": {
        "follows": 1,
        "follows:poster": 1,
        "credited": 1,
        "poster_sent": 1,
        "screenshots:rejected": 1,
        "screenshot_reason:not_moments": 1,
        "review_wait:lt4h": 1,
        "pushes_delivered": 1,
        "project_delivered": 1,
        "push_clicks": 1,
        "push_clickers": 1,
    },
    f"{APPID}|account|2026-12-03": {"unfollows": 1, "unfollows:poster": 1},
    f"{APPID}|campaign:c1|{DAY}": {
        "credited": 1,
        "invitees_lost_7d": 1,
        "invitees_lost_30d": 1,
        "poster_sent": 1,
        "screenshots:rejected": 1,
        "screenshot_reason:not_moments": 1,
    },
    f"{APPID}|push:p1|{DAY}": {
        "delivered": 1,
        "delivered:v:-": 1,
        "clicks": 1,
        "clicks:v:-": 1,
        "clickers": 1,
        "clickers:v:-": 1,
    },
    f"{APPID}|project:pr1|{DAY}": {"delivered": 1, "delivered:seg:s1": 1, "delivered:push:p1": 1},
}


@pytest.fixture
def worker(infra: Infra, isolation: Isolation, infra_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    asyncio.run(ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix))
    process = ServiceProcess("analytics-worker", free_port(), infra_env, tmp_path / "analytics-worker.log")
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        code = process.stop()
    assert code == 0, process.log_tail()


async def _publish(infra: Infra, isolation: Isolation, events: list[tuple[Topic, Envelope]]) -> None:
    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as kafka:
        for topic, envelope in events:
            await kafka.publish(topic, envelope)


async def _rollups(database: Any) -> dict[str, dict[str, int]]:
    return {doc["_id"]: doc["c"] async for doc in database["rollups"].find()}


def _consumed(worker: ServiceProcess) -> float:
    """Records the worker has handled (each redelivered or repeated one again), from its metrics."""
    total = 0.0
    for line in httpx.get(f"{worker.url}/metrics", timeout=5).text.splitlines():
        if line.startswith("scrm_events_consumed_total{") and 'outcome="processed"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _until(check: Any) -> None:
    async with asyncio.timeout(60):
        while not await check():  # noqa: ASYNC110  (another process writes)
            await asyncio.sleep(0.3)


async def test_events_become_rollups_once(
    infra: Infra, isolation: Isolation, mongo: AsyncMongoClient[dict[str, Any]], worker: ServiceProcess
) -> None:
    database = mongo[isolation.database]
    await _publish(infra, isolation, EVENTS)

    async def rolled_up() -> bool:
        return await _rollups(database) == EXPECTED

    await _until(rolled_up)
    assert await database["processed_events"].count_documents({}) == len(EVENTS) - 1  # the menu click: not counted

    again = published(WECHAT_PUSHES, MemberFollowed(openid="o3", followed_at=T0), "f3", "o3")
    await _publish(infra, isolation, [*EVENTS, again])

    async def all_handled() -> bool:
        return await asyncio.to_thread(_consumed, worker) >= 2 * len(EVENTS) + 1

    await _until(all_handled)
    expected = {key: dict(counters) for key, counters in EXPECTED.items()}
    expected[f"{APPID}|account|{DAY}"] |= {"follows": 2, "follows:direct": 1}
    assert await _rollups(database) == expected
