"""Frequency caps reserved before a send (issue 19 item 5), over the in-memory stores: a member another
push reserved while this one was deciding is decided again (and skipped at the cap), the reservation
is the count (a crash after the send does not under-count), and a send that was not made gives its
reservation back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from services.segments.adapters.memory import InMemoryDeliveryUnitOfWork, InMemoryPushes, InMemorySegments
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.pushes import (
    TRANSPORT_FAILED,
    Channel,
    FrequencyCap,
    MessageContent,
    QuietHours,
    TemplateContent,
    Variant,
)
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.ports import Content, SendRefused
from services.segments.service_layer.pushes import PushDefaults, PushUseCases
from tests.fakes.sender import RecordingSender

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Beijing: outside the quiet hours
KEY = b"click-key"
VARIANTS = [Variant("A", 1, MessageContent("text", text="hi"), template=TemplateContent("tpl", {"first": "hi"}))]


def _profile(openid: str) -> dict[str, Any]:
    return {
        "_id": f"wx1:{openid}",
        "openid": openid,
        "follow": {"following": True},
        "consents": {"marketing": {"given": True}},
        "last_active_at": NOW - timedelta(hours=3),
    }


class Refusing(RecordingSender):
    def __init__(self, refusals: dict[str, SendRefused]) -> None:
        super().__init__()
        self.refusals = refusals

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        if openid in self.refusals:
            raise self.refusals[openid]
        await super().send(appid, openid, channel, content, client_msg_id)
        return None


class Interleaved(InMemoryPushes):
    """Another push reserves ``member`` after this slice was decided and before it reserves its own."""

    def __init__(self, member: str) -> None:
        super().__init__()
        self.member = member

    async def record(self, documents: Sequence[dict[str, Any]]) -> set[str]:
        if self.member:
            sends = await self.recent_sends("wx1", [self.member])
            version = int(sends.get(self.member, {}).get("v", 0))
            assert await self.reserve_sends("wx1", "push_other", [(self.member, version)], NOW) == set()
            self.member = ""
        return await super().record(documents)


class Crashing(InMemoryPushes):
    """The worker dies after the slice's sends, before their outcomes are written (while ``dying``)."""

    def __init__(self) -> None:
        super().__init__()
        self.dying = True

    def transaction(self, *, fresh: bool = False) -> InMemoryDeliveryUnitOfWork:
        if not self.dying:
            return super().transaction(fresh=fresh)

        class Dying(InMemoryDeliveryUnitOfWork):
            async def commit(self) -> None:
                raise SystemError("worker killed")

        return Dying(self)


class World:
    def __init__(self, pushes: InMemoryPushes | None = None, refusals: dict[str, SendRefused] | None = None) -> None:
        self.pushes = pushes or InMemoryPushes()
        self.segments = InMemorySegments()
        self.sender = Refusing(refusals or {})
        self.ids = iter(f"push_{n}" for n in range(1, 10))
        self.use = PushUseCases(
            self.pushes,
            self.segments,
            PushDefaults(FrequencyCap(1, 3), QuietHours(time(22), time(8))),
            click_key=KEY,
            clock=lambda: NOW,
            new_id=lambda: next(self.ids),
            read_push=push_from_document,
        )
        config = DispatchConfig(click_base_url="https://c.example", click_key=KEY, retry_seconds=0)
        self.dispatcher = Dispatcher(self.pushes, self.sender, config, read_push=push_from_document, clock=lambda: NOW)

    async def push(self, openids: Sequence[str]) -> str:
        self.pushes.add_profiles(_profile(o) for o in openids)
        segment = await self.segments.create("wx1", f"s{len(self.segments.saved)}", "", {"has_tag": "x.y"})
        doc = await self.use.create("wx1", name="p", segment_id=segment.id, variants=VARIANTS)
        await self.pushes.save_audience(doc["_id"], openids, 100)
        await self.pushes.update(doc["_id"], {"status": "sending", "audience_size": len(openids)})
        return str(doc["_id"])

    def reserved(self, openid: str) -> list[Any]:
        return list(self.pushes.member_sends.get(f"wx1:{openid}", {}).get("recent", []))


async def test_a_member_another_push_reserved_meanwhile_is_decided_again_and_capped() -> None:
    world = World(Interleaved("o1"))
    push_id = await world.push(["o1", "o2"])
    assert await world.dispatcher.run_once()

    assert world.sender.sent == ["o2"]  # o1's one push a day went to the other push
    skipped = world.pushes.deliveries[f"{push_id}:o1"]
    assert (skipped["status"], skipped["reason"]) == ("skipped", "frequency_cap")
    stats = world.pushes.pushes[push_id]["stats"]["total"]
    assert (stats["sent"], stats["skipped"]) == (1, {"frequency_cap": 1})
    assert [entry["push"] for entry in world.reserved("o1")] == ["push_other"]
    assert [entry["push"] for entry in world.reserved("o2")] == [push_id]


async def test_two_pushes_one_after_the_other_count_one_send_each() -> None:
    world = World()
    first = await world.push(["o1"])
    second = await world.push(["o1"])
    assert await world.dispatcher.run_once()
    assert await world.dispatcher.run_once()
    assert world.sender.sent == ["o1"]
    assert world.pushes.deliveries[f"{first}:o1"]["status"] == "sent"
    assert world.pushes.deliveries[f"{second}:o1"]["reason"] == "frequency_cap"
    assert len(world.reserved("o1")) == 1


async def test_a_crash_between_send_and_settle_still_counts_the_send() -> None:
    pushes = Crashing()
    world = World(pushes)
    first = await world.push(["o1"])
    with pytest.raises(SystemError):
        await world.dispatcher.run_once()
    assert world.sender.sent == ["o1"]
    assert len(world.reserved("o1")) == 1  # counted before it was sent; nothing settled it

    # The next push to the member, once the worker is back: the cap holds.
    pushes.dying = False
    await pushes.update(first, {"status": "cancelled"})
    second = await world.push(["o1"])
    assert await world.dispatcher.run_once()
    assert world.sender.sent == ["o1"]
    assert pushes.deliveries[f"{second}:o1"]["reason"] == "frequency_cap"


async def test_a_send_not_made_gives_its_reservation_back_and_a_lost_answer_keeps_it() -> None:
    world = World(
        refusals={
            "o_gone": SendRefused(43004, "recipient", "require subscribe"),
            "o_far": SendRefused(TRANSPORT_FAILED, "transient", "read timeout"),  # may have been delivered
        }
    )
    await world.push(["o_ok", "o_gone", "o_far"])
    assert await world.dispatcher.run_once()
    assert (len(world.reserved("o_ok")), len(world.reserved("o_gone")), len(world.reserved("o_far"))) == (1, 0, 1)


async def test_a_quota_hit_gives_back_the_reservations_of_the_sends_not_made() -> None:
    world = World(refusals={"o1": SendRefused(45009, "quota", "daily quota", retry_after=3600)})
    world.dispatcher._config = DispatchConfig(click_base_url="https://c.example", click_key=KEY, concurrency=1)
    push_id = await world.push(["o1", "o2"])
    assert await world.dispatcher.run_once()
    assert world.pushes.pushes[push_id]["status"] == "waiting_quota"
    assert world.reserved("o1") == [] and world.reserved("o2") == []
