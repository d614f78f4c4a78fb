"""The ``brands-worker`` process against the real Kafka-protocol broker (Tansu) and MongoDB-protocol server
(SecantusDB): deliveries and clicks of a project's pushes become its daily counters and move its brand's
last activity; the same events published again (an outbox relay repeating itself) change nothing, and
pushes of no project are left alone; the latest names of the project's pushes and segments are kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from scrm_dev.launcher import ServiceProcess
from services.brands.bootstrap import bootstrap
from services.brands.domain.model import Brand, Project, ProjectStatus
from services.brands.settings import BrandsSettings
from shared.contracts import PUSH_DELIVERIES, TOPICS, PushClicked, PushDelivered, PushDeliveryFailed
from shared.events import Envelope, Message
from shared.localinfra import free_port
from shared.messaging import KafkaEventPublisher, ensure_topics
from tests.conftest import Infra, Isolation
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

CREATED = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
T0 = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 on the 1st in Beijing
T1 = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 00:30 on the 2nd in Beijing


def _envelope(message: Message, event_id: str, openid: str) -> Envelope:
    return Envelope.wrap(message, appid="wx1", key=openid, event_id=event_id)


def _delivered(
    openid: str, at: datetime, project_id: str | None = "p1", push_id: str = "push1", push_name: str | None = None
) -> Message:
    return PushDelivered(
        openid=openid,
        push_id=push_id,
        segment_id="seg1",
        project_id=project_id,
        push_name=push_name,
        segment_name="孕妈" if push_name else None,
        channel="template",
        delivered_at=at,
    )


EVENTS = [
    _envelope(_delivered("o1", T0, push_name="春季"), "d1", "o1"),
    _envelope(_delivered("o2", T1, push_name="春季二"), "d2", "o2"),  # renamed between the two
    _envelope(_delivered("o3", T1, push_id="push2"), "d3", "o3"),
    _envelope(
        PushClicked(
            openid="o1", push_id="push1", segment_id="seg1", project_id="p1", first=True, click_id="k1", clicked_at=T1
        ),
        "k1",
        "o1",
    ),
    _envelope(_delivered("o4", T1, project_id=None), "d4", "o4"),
    _envelope(
        PushDeliveryFailed(
            openid="o5",
            push_id="push1",
            segment_id="seg1",
            project_id="p1",
            channel="template",
            errcode=43004,
            failed_at=T1,
        ),
        "f1",
        "o5",
    ),
]

EXPECTED = {
    "p1|2026-12-01": {"delivered": 1, "delivered:seg:seg1": 1, "delivered:push:push1": 1},
    "p1|2026-12-02": {
        "delivered": 2,
        "delivered:seg:seg1": 2,
        "delivered:push:push1": 1,
        "delivered:push:push2": 1,
        "clicks": 1,
        "clicks:seg:seg1": 1,
        "clicks:push:push1": 1,
        "clickers": 1,
        "clickers:push:push1": 1,
    },
}


@pytest.fixture
def worker(infra: Infra, isolation: Isolation, infra_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    asyncio.run(ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix))
    process = ServiceProcess("brands-worker", free_port(), infra_env, tmp_path / "brands-worker.log")
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        code = process.stop()
    assert code == 0, process.log_tail()


async def _publish(infra: Infra, isolation: Isolation, envelopes: list[Envelope]) -> None:
    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as kafka:
        for envelope in envelopes:
            await kafka.publish(PUSH_DELIVERIES, envelope)


async def _counters(database: Any) -> dict[str, dict[str, int]]:
    return {doc["_id"]: doc["c"] async for doc in database["project_days"].find()}


def _handled(worker: ServiceProcess) -> float:
    """Records the worker has handled so far (a repeated one again), as its metrics count them."""
    text = httpx.get(f"{worker.url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("scrm_events_consumed_total{") and 'outcome="processed"' in line
    )


async def _until(check: Any) -> None:
    async with asyncio.timeout(60):
        while not await check():  # noqa: ASYNC110  (another process writes)
            await asyncio.sleep(0.3)


async def test_project_pushes_become_daily_counters_once(
    infra: Infra,
    isolation: Isolation,
    service_settings: LoadSettings,
    mongo: AsyncMongoClient[dict[str, Any]],
    worker: ServiceProcess,
) -> None:
    async with bootstrap(service_settings(BrandsSettings)) as brands, brands.uow() as uow:
        await uow.brands.add(Brand("b1", "Beibei", None, "m1", CREATED, CREATED))
        await uow.projects.add(
            Project(
                "p1",
                "b1",
                "wx1",
                "Spring",
                100,
                None,
                date(2026, 12, 1),
                date(2026, 12, 31),
                0,
                "m1",
                ProjectStatus.ACTIVE,
                CREATED,
            )
        )
        await uow.commit()
    database = mongo[isolation.database]
    await _publish(infra, isolation, EVENTS)

    async def counted() -> bool:
        return await _counters(database) == EXPECTED

    await _until(counted)
    brand = await database["brands"].find_one({"_id": "b1"})
    assert brand is not None and brand["last_activity_at"] == T1
    assert await database["processed_events"].count_documents({}) == 4  # the project's deliveries and click
    names = await database["project_names"].find_one({"_id": "p1"})
    assert names is not None
    assert {k: v["name"] for k, v in names["pushes"].items()} == {"push1": "春季二"}  # push2's events named nothing
    assert (names["segments"]["seg1"]["name"], names["segments"]["seg1"]["at"]) == ("孕妈", T1)

    # The relay repeats itself, and one new delivery follows: only that one counts.
    late = _envelope(_delivered("o6", T1), "d6", "o6")
    await _publish(infra, isolation, [*EVENTS, late])

    async def all_handled() -> bool:
        return await asyncio.to_thread(_handled, worker) >= 2 * len(EVENTS) + 1

    await _until(all_handled)
    assert await database["processed_events"].count_documents({}) == 5
    expected = {key: dict(counts) for key, counts in EXPECTED.items()}
    for metric in ("delivered", "delivered:seg:seg1", "delivered:push:push1"):
        expected["p1|2026-12-02"][metric] += 1
    assert await _counters(database) == expected
