"""The gateway's durable outbox: pushes the broker refuses wait on disk and are published, in order, later."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scrm_dev import pushes
from services.gateway.adapters.ledger import MemoryPushLedger
from services.gateway.adapters.outbox import (
    OUTBOX_ALARM,
    OUTBOX_RECORDS,
    OutboxFull,
    OutboxLocked,
    OutboxPublisher,
    open_outbox,
)
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings
from shared.contracts import CATALOG, DEADLETTER, WECHAT_PUSHES, MemberFollowed
from shared.events import Envelope, Topic
from shared.messaging import InMemoryEventPublisher, PublishFailed, TopicMismatch
from tests.accounts import AES_KEY, account
from tests.fakes.reply_rules import FakeRules


class Broker(InMemoryEventPublisher):
    """A broker that can be down (refuses), hanging (never answers) or refuse some keys once."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.hanging = False
        self.refuse_once: set[str] = set()

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if self.hanging:
            await asyncio.sleep(3600)
        if self.down:
            raise PublishFailed("broker unavailable (fake)")
        if envelope.key in self.refuse_once:
            self.refuse_once.discard(envelope.key)
            raise PublishFailed("refused once (fake)")
        await super().publish(topic, envelope)

    def ids(self) -> list[str]:
        return [envelope.event_id for _, envelope in self.published]


def follow(n: int, member: str | None = None) -> Envelope:
    openid = member or f"o{n}"
    event = MemberFollowed(openid=openid, followed_at=datetime(2026, 12, 1, tzinfo=UTC))
    return Envelope.wrap(event, appid="wx1", key=openid, event_id=f"e{n}")


def outbox(broker: Broker, directory: Path, **options: float) -> OutboxPublisher:
    settings: dict[str, float] = {"max_bytes": 1_000_000, "alarm_bytes": 500_000, "publish_timeout": 0.2}
    return OutboxPublisher(broker, directory, retry_every=0.01, **(settings | options))  # type: ignore[arg-type]


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


async def test_a_refused_push_waits_on_disk_and_is_published_in_order_when_the_broker_returns(tmp_path: Path) -> None:
    broker = Broker()
    box = outbox(broker, tmp_path)
    await box.start()
    try:
        await box.publish(WECHAT_PUSHES, follow(0))  # the broker answers: straight through
        broker.down = True
        for n in range(1, 6):
            await box.publish(WECHAT_PUSHES, follow(n))  # returns: on disk
        assert box.waiting == 5 and (tmp_path / "outbox.log").stat().st_size > 0
        assert OUTBOX_RECORDS._value.get() == 5
        broker.down = False
        await box.publish(WECHAT_PUSHES, follow(6))  # behind the waiting ones, not before them
        await until(lambda: box.waiting == 0)
        assert broker.ids() == [f"e{n}" for n in range(7)]
        await until(lambda: (tmp_path / "outbox.log").stat().st_size == 0)  # drained: compacted
    finally:
        await box.stop()


async def test_a_broker_that_does_not_answer_in_time_counts_as_refusing(tmp_path: Path) -> None:
    broker = Broker()
    broker.hanging = True
    box = outbox(broker, tmp_path, publish_timeout=0.05)
    await box.start()
    try:
        started = time.monotonic()
        await box.publish(WECHAT_PUSHES, follow(1))
        assert time.monotonic() - started < 1 and box.waiting == 1
        broker.hanging = False
        await until(lambda: box.waiting == 0)
        assert broker.ids() == ["e1"]
    finally:
        await box.stop()


async def test_a_restarted_gateway_drains_what_the_last_one_kept(tmp_path: Path) -> None:
    broker = Broker()
    broker.down = True
    first = outbox(broker, tmp_path)
    await first.start()
    for n in range(4):
        await first.publish(WECHAT_PUSHES, follow(n))
    await first.stop()  # the process ends with the broker still down
    broker.down = False
    second = outbox(broker, tmp_path)
    await second.start()
    try:
        await until(lambda: second.waiting == 0)
        assert broker.ids() == ["e0", "e1", "e2", "e3"]
    finally:
        await second.stop()
    third = outbox(broker, tmp_path)  # nothing left over: published once
    await third.start()
    await third.stop()
    assert broker.ids() == ["e0", "e1", "e2", "e3"]


async def test_a_torn_record_at_the_end_is_cut_off(tmp_path: Path) -> None:
    broker = Broker()
    broker.down = True
    first = outbox(broker, tmp_path)
    await first.start()
    await first.publish(WECHAT_PUSHES, follow(1))
    await first.publish(WECHAT_PUSHES, follow(2))
    await first.stop()
    log = tmp_path / "outbox.log"
    log.write_bytes(log.read_bytes()[:-7])  # a crash in the middle of writing the second
    broker.down = False
    second = outbox(broker, tmp_path)
    await second.start()
    try:
        await until(lambda: second.waiting == 0)
        assert broker.ids() == ["e1"]  # the torn one was never acknowledged, so never answered success
    finally:
        await second.stop()


async def test_each_members_order_holds_when_part_of_a_drained_batch_fails(tmp_path: Path) -> None:
    broker = Broker()
    broker.down = True
    box = outbox(broker, tmp_path)
    await box.start()
    try:
        sent = [follow(n, member=f"m{n % 3}") for n in range(12)]
        for envelope in sent:
            await box.publish(WECHAT_PUSHES, envelope)
        broker.refuse_once = {"m1"}
        broker.down = False
        await until(lambda: box.waiting == 0)
        for member in ("m0", "m1", "m2"):
            published = [e.event_id for _, e in broker.published if e.key == member]
            expected = [e.event_id for e in sent if e.key == member]
            # Each once at least (a retried batch may publish a record again), never out of order.
            assert list(dict.fromkeys(published)) == expected
    finally:
        await box.stop()


async def test_a_full_outbox_refuses_as_there_were_none_and_raises_the_alarm(tmp_path: Path) -> None:
    broker = Broker()
    broker.down = True
    box = outbox(broker, tmp_path, max_bytes=2_000, alarm_bytes=1_000)
    await box.start()
    try:
        with pytest.raises(OutboxFull):
            for n in range(100):
                await box.publish(WECHAT_PUSHES, follow(n))
        assert isinstance(OutboxFull("x"), PublishFailed)  # the gateway answers 503: the platform retries
        assert OUTBOX_ALARM._value.get() == 1
        with pytest.raises(OutboxFull):
            await box.ready()
        broker.down = False
        await until(lambda: box.waiting == 0)
        assert OUTBOX_ALARM._value.get() == 0
        await box.ready()
    finally:
        await box.stop()


async def test_an_envelope_on_the_wrong_topic_is_refused_not_queued(tmp_path: Path) -> None:
    broker = Broker()
    broker.down = True
    box = outbox(broker, tmp_path)
    await box.start()
    try:
        with pytest.raises(TopicMismatch):
            await box.publish(DEADLETTER, follow(1))
        assert box.waiting == 0
    finally:
        await box.stop()


async def test_one_directory_one_process_and_the_next_slot_for_another(tmp_path: Path) -> None:
    broker = Broker()
    options = {"max_bytes": 1_000_000, "alarm_bytes": 500_000, "publish_timeout": 0.2}
    async with open_outbox(broker, tmp_path, **options) as first:  # type: ignore[arg-type]
        with pytest.raises(OutboxLocked):
            await outbox(broker, tmp_path / "0").start()
        async with open_outbox(broker, tmp_path, **options) as second:  # type: ignore[arg-type]
            await first.publish(WECHAT_PUSHES, follow(1))
            await second.publish(WECHAT_PUSHES, follow(2))
    assert (tmp_path / "0" / "lock").exists() and (tmp_path / "1" / "lock").exists()
    assert broker.ids() == ["e1", "e2"]


def test_the_gateway_answers_success_while_the_broker_is_down_and_publishes_later(tmp_path: Path) -> None:
    broker = Broker()
    broker.down = True
    settings = GatewaySettings(
        environment="test",
        wechat_accounts=[account("wxgateway0000001", token="gw-token", encoding_aes_key=AES_KEY, secret="s" * 20)],
        accounts_from_mongodb=False,
        outbox_dir=tmp_path,
        outbox_publish_timeout_seconds=0.2,
    )
    app = create_app(settings, publisher=broker, ledger=MemoryPushLedger(), rules=FakeRules())
    now = int(time.time())
    with TestClient(app) as client:

        def post(openid: str, body: bytes) -> str:
            signed = pushes.sign("gw-token", body, timestamp=int(time.time()), openid=openid)
            return client.post("/wechat/wxgateway0000001", params=signed.params, content=signed.body).text

        assert post("o1", pushes.follow("o1", now)) == "success"
        assert post("o2", pushes.follow("o2", now)) == "success"
        assert post("o1", pushes.follow("o1", now)) == "success"  # the platform's retry: answered, not kept
        assert broker.published == []
        assert client.get("/readyz").status_code == 200  # still taking pushes
        metrics = client.get("/metrics").text
        assert "scrm_gateway_outbox_records 2.0" in metrics
        broker.down = False
        deadline = time.monotonic() + 5
        while len(broker.published) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    openids = [CATALOG.decode(envelope).openid for _, envelope in broker.published]  # type: ignore[attr-defined]
    assert openids == ["o1", "o2"]


async def test_one_members_pushes_take_turns_and_a_cancelled_one_gives_up_its_turn(tmp_path: Path) -> None:
    broker = Broker()
    broker.hanging = True
    box = outbox(broker, tmp_path, publish_timeout=0.1)
    await box.start()
    try:
        first = asyncio.ensure_future(box.publish(WECHAT_PUSHES, follow(1, "oA")))
        second = asyncio.ensure_future(box.publish(WECHAT_PUSHES, follow(2, "oA")))
        third = asyncio.ensure_future(box.publish(WECHAT_PUSHES, follow(3, "oA")))
        other = asyncio.ensure_future(box.publish(WECHAT_PUSHES, follow(4, "oB")))
        await asyncio.sleep(0.02)
        second.cancel()  # waiting behind the first: it leaves the queue
        assert not third.done()  # still behind the first, which the broker holds
        broker.hanging = False
        await asyncio.gather(first, third, other)
        with pytest.raises(asyncio.CancelledError):
            await second
        await until(lambda: box.waiting == 0)
        member = [event_id for event_id in broker.ids() if event_id != "e4"]
        assert member == ["e1", "e3"]  # the first timed out into the outbox; the third went behind it
        assert not box._turns  # every turn given back
    finally:
        await box.stop()


async def test_a_publish_cancelled_from_outside_is_cancelled_not_kept(tmp_path: Path) -> None:
    broker = Broker()
    broker.hanging = True
    box = outbox(broker, tmp_path, publish_timeout=5)
    await box.start()
    try:
        publishing = asyncio.ensure_future(box.publish(WECHAT_PUSHES, follow(1)))
        await asyncio.sleep(0.02)
        publishing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await publishing
        assert box.waiting == 0 and not box._turns
    finally:
        await box.stop()
