"""Sends that wait for the window (issue 21 item 10), over the in-memory stores: a member outside the
48-hour window whose variant has only a customer-service message waits (``waiting``) instead of being
skipped when the push says so, gets the message when they next interact within the push's wait
(``sent_after_wait``), or never (``expired_waiting``); each counted apart, sent at most once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from services.segments.adapters.memory import InMemoryPushes, InMemorySegments, InMemoryWaitingSends
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.pushes import (
    TRANSPORT_FAILED,
    Channel,
    FrequencyCap,
    MessageContent,
    PushInvalid,
    QuietHours,
    TemplateContent,
    Variant,
    new_push,
)
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.ports import Content, SendRefused
from services.segments.service_layer.pushes import PushDefaults, PushUseCases
from services.segments.service_layer.waiting import Interaction, WaitingSends, interaction_of
from shared.contracts import (
    CATALOG,
    MemberFollowed,
    MemberUnfollowed,
    PushDelivered,
    TextMessageReceived,
    push_delivered_event_id,
)
from tests.fakes.sender import RecordingSender

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Beijing: outside the quiet hours
KEY = b"click-key"
TEXT = MessageContent("text", text="hi https://brand.example/a")
ONLY_TEXT = [Variant("A", 1, TEXT)]


def _profile(openid: str, *, active_hours_ago: float, following: bool = True) -> dict[str, Any]:
    return {
        "_id": f"wx1:{openid}",
        "openid": openid,
        "follow": {"following": following},
        "consents": {"marketing": {"given": True}},
        "last_active_at": NOW - timedelta(hours=active_hours_ago),
    }


class World:
    def __init__(self, pushes: InMemoryPushes | None = None, sender: RecordingSender | None = None) -> None:
        self.now = NOW
        self.pushes = pushes or InMemoryPushes()
        self.segments = InMemorySegments()
        self.sender = sender or RecordingSender()
        clock = lambda: self.now  # noqa: E731 - the test moves time
        self.use = PushUseCases(
            self.pushes,
            self.segments,
            PushDefaults(FrequencyCap(1, 3), QuietHours(time(22), time(8))),
            click_key=KEY,
            clock=clock,
            new_id=lambda: "push_1",
            read_push=push_from_document,
        )
        config = DispatchConfig(click_base_url="https://c.example", click_key=KEY, slice_size=2, retry_seconds=0)
        self.dispatcher = Dispatcher(self.pushes, self.sender, config, read_push=push_from_document, clock=clock)
        self.waiting = WaitingSends(
            self.pushes,
            InMemoryWaitingSends(self.pushes),
            self.sender,
            self.dispatcher.personalize,
            read_push=push_from_document,
            clock=clock,
            retry_seconds=0,
        )

    async def push(
        self, members: dict[str, float], *, wait: timedelta | None = timedelta(hours=72), variants: Any = None
    ) -> dict[str, Any]:
        """A push being sent to ``members`` (openid → hours since they were last active)."""
        self.pushes.add_profiles(_profile(o, active_hours_ago=h) for o, h in members.items())
        segment = await self.segments.create("wx1", "s", "", {"has_tag": "interest.toys"})
        doc = await self.use.create(
            "wx1", name="p", segment_id=segment.id, variants=variants or ONLY_TEXT, wait_for_window=wait
        )
        await self.pushes.save_audience(doc["_id"], list(members), 100)
        await self.pushes.update(doc["_id"], {"status": "sending", "audience_size": len(members)})
        assert await self.dispatcher.run_once()
        return doc

    def total(self) -> dict[str, Any]:
        return dict(self.pushes.pushes["push_1"]["stats"]["total"])

    def record(self, openid: str) -> dict[str, Any]:
        return self.pushes.deliveries[f"push_1:{openid}"]

    async def interact(self, openid: str, *, ago: timedelta = timedelta(0), followed: bool = False) -> int:
        return await self.waiting.on_interaction("wx1", Interaction(openid, self.now - ago, followed=followed))


async def test_a_member_outside_the_window_waits_and_gets_the_message_when_they_next_interact() -> None:
    world = World()
    await world.push({"o_near": 3, "o_far": 60})
    assert world.sender.sent == ["o_near"]  # in the window: sent at once
    assert world.record("o_far")["status"] == "waiting"
    assert world.total()["waiting"] == 1
    assert world.pushes.pushes["push_1"]["status"] == "finished"  # the audience is gone through

    world.now = NOW + timedelta(hours=20)
    assert await world.interact("o_far") == 1
    assert world.sender.sent == ["o_near", "o_far"]
    record = world.record("o_far")
    assert (record["status"], record["channel"], record["after_wait"]) == ("sent", "customer_service", True)
    total = world.total()
    assert (total["waiting"], total["sent_after_wait"], total["sent"]) == (0, 1, 2)
    assert total["channels"]["customer_service"] == 2
    assert world.pushes.pushes["push_1"]["stats"]["variants"]["A"]["sent_after_wait"] == 1
    delivered = [
        CATALOG.decode(e) for t, e in world.pushes.emitted if e.event_id == push_delivered_event_id("push_1", "o_far")
    ]
    assert len(delivered) == 1 and isinstance(delivered[0], PushDelivered)
    # The same interaction redelivered, or another one: nothing more is sent.
    assert await world.interact("o_far") == 0
    assert await world.waiting.sweep() is False
    assert world.sender.sent == ["o_near", "o_far"]


async def test_a_wait_that_runs_out_is_counted_expired_and_nothing_is_sent() -> None:
    world = World()
    await world.push({"o_far": 60}, wait=timedelta(hours=24))
    world.now = NOW + timedelta(hours=24, seconds=1)
    assert await world.waiting.sweep() is True
    assert world.record("o_far")["status"] == "skipped"
    assert world.record("o_far")["reason"] == "expired_waiting"
    total = world.total()
    assert (total["waiting"], total["expired_waiting"], total.get("sent_after_wait", 0)) == (0, 1, 0)
    assert await world.interact("o_far") == 0  # too late
    assert world.sender.sent == []


async def test_without_a_wait_members_outside_the_window_are_skipped_as_before() -> None:
    world = World()
    await world.push({"o_far": 60}, wait=None)
    assert world.record("o_far")["status"] == "skipped"
    assert world.total()["skipped"] == {"outside_window": 1}
    assert "waiting" not in world.total()


async def test_a_variant_with_a_template_does_not_wait_it_sends_the_template() -> None:
    world = World()
    template = TemplateContent("tpl", {"thing1": "hi"})
    await world.push({"o_far": 60}, variants=[Variant("A", 1, TEXT, template=template)])
    assert world.record("o_far")["channel"] == "template"
    assert "waiting" not in world.total()


async def test_a_cancelled_push_stops_waiting() -> None:
    world = World()
    await world.push({"o_far": 60})
    await world.pushes.update("push_1", {"status": "cancelled"})
    assert await world.interact("o_far") == 0
    assert world.record("o_far")["reason"] == "expired_waiting"
    assert world.sender.sent == []
    assert world.total()["waiting"] == 0


async def test_an_interaction_in_the_quiet_hours_is_sent_when_they_end() -> None:
    world = World()
    await world.push({"o_far": 60})
    world.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    assert await world.interact("o_far") == 0
    assert world.record("o_far")["status"] == "waiting"
    world.now = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 in Beijing: the window is still open
    assert await world.waiting.sweep() is True
    assert world.sender.sent == ["o_far"]
    assert world.total()["sent_after_wait"] == 1


async def test_a_member_who_unfollowed_meanwhile_is_skipped_and_one_who_followed_again_is_sent() -> None:
    world = World()
    await world.push({"o_gone": 60, "o_back": 60})
    world.pushes.profiles["wx1:o_gone"]["follow"]["following"] = False
    world.pushes.profiles["wx1:o_back"]["follow"]["following"] = False  # profiles not yet caught up
    assert await world.interact("o_gone") == 0
    assert await world.interact("o_back", followed=True) == 1
    assert world.record("o_gone")["reason"] == "unfollowed"
    assert world.total()["skipped"] == {"unfollowed": 1}
    assert world.sender.sent == ["o_back"]


async def test_the_frequency_cap_holds_the_send_until_a_later_interaction() -> None:
    world = World()
    await world.push({"o_far": 60})
    await world.pushes.count_sends("wx1", ["o_far"], NOW + timedelta(hours=1))  # another push got there first
    world.now = NOW + timedelta(hours=2)
    assert await world.interact("o_far") == 0
    assert world.record("o_far")["status"] == "waiting"
    assert await world.waiting.sweep() is False  # the window it saw is not retried every poll
    world.now = NOW + timedelta(hours=26)  # a day after the other send, 19:00 in Beijing
    assert await world.interact("o_far") == 1


async def test_an_old_interaction_replayed_opens_no_window() -> None:
    world = World()
    await world.push({"o_far": 60})
    assert await world.interact("o_far", ago=timedelta(hours=49)) == 0
    assert world.record("o_far")["status"] == "waiting"


def test_a_broadcast_cannot_wait_and_a_wait_is_bounded() -> None:
    kwargs: dict[str, Any] = {"push_id": "p", "appid": "wx1", "name": "n", "segment_id": "s", "now": NOW}
    with pytest.raises(PushInvalid, match="broadcast"):
        new_push(
            **kwargs,
            variants=[Variant("A", 1, MessageContent("text", text="x"))],
            broadcast=True,
            wait_for_window=timedelta(hours=5),
        )
    with pytest.raises(PushInvalid, match="between"):
        new_push(**kwargs, variants=ONLY_TEXT, wait_for_window=timedelta(days=31))
    push = new_push(**kwargs, variants=ONLY_TEXT, wait_for_window=timedelta(hours=5))
    assert push.wait_for_window == timedelta(hours=5)


def test_what_opens_a_window() -> None:
    text = TextMessageReceived(openid="o1", msg_id="1", content="hi", received_at=NOW)
    follow = MemberFollowed(openid="o1", followed_at=NOW)
    assert interaction_of(text) is not None
    found = interaction_of(follow)
    assert found is not None and found.followed
    assert interaction_of(MemberUnfollowed(openid="o1", unfollowed_at=NOW)) is None


class Overtaken(InMemoryPushes):
    """Another push reserves the member between the waiting send's reading of their sends and its
    reservation (two workers at once), once."""

    def __init__(self) -> None:
        super().__init__()
        self.overtake: str | None = None

    async def reserve_sends(
        self, appid: str, push_id: str, members: Sequence[tuple[str, int]], at: datetime, month: str | None = None
    ) -> set[str]:
        if self.overtake is not None:
            other, self.overtake = self.overtake, None
            for openid, version in members:
                assert not await super().reserve_sends(appid, other, [(openid, version)], at)
        return await super().reserve_sends(appid, push_id, members, at, month)


class Refusing(RecordingSender):
    """The platform refusing the next send with ``errcode`` (of ``kind``)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusal: SendRefused | None = None

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        if self.refusal is not None:
            raise self.refusal
        return await super().send(appid, openid, channel, content, client_msg_id)


def _reserved(world: World, openid: str) -> list[Any]:
    return list(world.pushes.member_sends.get(f"wx1:{openid}", {}).get("recent", []))


async def test_a_send_after_the_wait_is_reserved_against_the_cap_before_it_is_made() -> None:
    world = World()
    await world.push({"o_far": 60})
    world.now = NOW + timedelta(hours=2)
    assert await world.interact("o_far") == 1
    # The reservation is the count: the member's sends name the push, as the dispatcher's do.
    assert _reserved(world, "o_far") == [{"at": world.now, "push": "push_1"}]


async def test_a_push_that_reserved_the_member_first_wins_and_the_waiting_send_waits_again() -> None:
    store = Overtaken()
    racing = World(pushes=store)
    await racing.push({"o_far": 60})
    racing.now = NOW + timedelta(hours=2)
    store.overtake = "push_other"  # decided on no sends today; another push reserves the day's one first
    assert await racing.interact("o_far") == 0
    assert racing.sender.sent == []
    record = racing.record("o_far")
    assert (record["status"], record["window_until"], record.get("channel")) == ("waiting", None, None)
    assert _reserved(racing, "o_far") == [{"at": racing.now, "push": "push_other"}]  # one send today, not two
    assert racing.total()["waiting"] == 1 and "sent_after_wait" not in racing.total()
    racing.now = NOW + timedelta(hours=27)  # the next day: the next interaction sends it
    assert await racing.interact("o_far") == 1
    assert [e["push"] for e in _reserved(racing, "o_far")] == ["push_other", "push_1"]


@pytest.mark.parametrize(
    ("refusal", "kept", "status"),
    [
        (SendRefused(43004, "recipient", "unsubscribed"), False, "failed"),
        (SendRefused(TRANSPORT_FAILED, "transient", "unreachable"), True, "failed"),
        (SendRefused(45009, "quota", "daily quota"), False, "waiting"),
    ],
)
async def test_a_send_not_made_gives_its_reservation_back(refusal: SendRefused, kept: bool, status: str) -> None:
    sender = Refusing()
    world = World(sender=sender)
    await world.push({"o_far": 60})
    world.now = NOW + timedelta(hours=2)
    sender.refusal = refusal
    assert await world.interact("o_far") == 0
    assert world.record("o_far")["status"] == status
    # Refused by the platform, or not attempted (quota): not counted; a lost answer may have been delivered.
    assert [e["push"] for e in _reserved(world, "o_far")] == (["push_1"] if kept else [])
