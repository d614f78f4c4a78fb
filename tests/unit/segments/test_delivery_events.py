"""The ``segments.deliveries`` events over the in-memory stores: the dispatcher emits ``push.delivered``
and ``push.delivery_failed`` (WeChat's code, or ours) in the transaction that records each outcome,
the click redirect ``push.clicked`` (first and repeat) with the click record, each carrying the push's
segment, variant and brand project; a retried transaction or a re-run push emits the same ids, and an
aborted one emits nothing and leaves no record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

import pytest

from services.segments.adapters.memory import InMemoryDeliveryUnitOfWork, InMemoryPushes, InMemorySegments
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.click_links import ClickLink, sign_click
from services.segments.domain.pushes import (
    INTERRUPTED,
    TRANSPORT_FAILED,
    Channel,
    FrequencyCap,
    MessageContent,
    QuietHours,
    TemplateContent,
    Variant,
)
from services.segments.domain.rules import MemberFacts
from services.segments.service_layer.audience import freeze
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.ports import Content, SendRefused
from services.segments.service_layer.pushes import PushDefaults, PushUseCases
from shared.contracts import (
    CATALOG,
    PUSH_DELIVERIES,
    PushClicked,
    PushDelivered,
    PushDeliveryFailed,
    push_delivered_event_id,
    push_failed_event_id,
)
from shared.events import Envelope
from shared.storage import StorageConflict
from tests.fakes.sender import RecordingSender

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Beijing: outside the quiet hours
KEY = b"click-key"
TEXT = MessageContent("text", text="hi https://brand.example/a")
TEMPLATE = TemplateContent("tpl", {"first": "hi"}, "https://brand.example/t")
VARIANTS = [Variant("A", 1, TEXT, template=TEMPLATE), Variant("B", 1, TEXT)]


def _profile(openid: str, *, consent: bool = True) -> dict[str, Any]:
    return {
        "_id": f"wx1:{openid}",
        "openid": openid,
        "follow": {"following": True},
        "consents": {"marketing": {"given": consent}},
        "last_active_at": NOW - timedelta(hours=3),
    }


class ScriptedSender(RecordingSender):
    """Answers every send but those ``refusals`` names (openid → the refusal, every time)."""

    def __init__(self, refusals: dict[str, SendRefused]) -> None:
        super().__init__()
        self.refusals = refusals

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        if openid in self.refusals:
            raise self.refusals[openid]
        await super().send(appid, openid, channel, content, client_msg_id)
        return None


class ConflictingPushes(InMemoryPushes):
    """The in-memory store whose next ``conflicts`` commits lose a race (a transient write conflict)."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 0

    def transaction(self, *, fresh: bool = False) -> InMemoryDeliveryUnitOfWork:
        store = self

        class Racing(InMemoryDeliveryUnitOfWork):
            async def commit(self) -> None:
                if store.conflicts:
                    store.conflicts -= 1
                    raise StorageConflict("write conflict")
                await super().commit()

        return Racing(self)


class World:
    def __init__(self, pushes: InMemoryPushes | None = None, refusals: dict[str, SendRefused] | None = None) -> None:
        self.pushes = pushes or InMemoryPushes()
        self.segments = InMemorySegments()
        self.sender = ScriptedSender(refusals or {})
        self.use = PushUseCases(
            self.pushes,
            self.segments,
            PushDefaults(FrequencyCap(1, 3), QuietHours(time(22), time(8))),
            click_key=KEY,
            clock=lambda: NOW,
            new_id=lambda: "push_1",
            read_push=push_from_document,
        )
        config = DispatchConfig(click_base_url="https://c.example", click_key=KEY, slice_size=2, retry_seconds=0)
        self.dispatcher = Dispatcher(self.pushes, self.sender, config, read_push=push_from_document, clock=lambda: NOW)

    async def push(self, openids: Sequence[str], *, project_id: str | None = "proj_42") -> dict[str, Any]:
        self.pushes.add_profiles(_profile(o, consent=o != "o_no_consent") for o in openids)
        segment = await self.segments.create("wx1", "s", "", {"has_tag": "interest.toys"})
        doc = await self.use.create("wx1", name="p", segment_id=segment.id, variants=VARIANTS, project_id=project_id)
        await self.pushes.save_audience(doc["_id"], openids, 100)
        await self.pushes.update(doc["_id"], {"status": "sending", "audience_size": len(openids)})
        return doc

    def events(self) -> list[tuple[str, Any]]:
        """(event id, payload) of what committed, in order."""
        decoded = []
        for topic, envelope in self.pushes.emitted:
            assert topic is PUSH_DELIVERIES
            decoded.append((envelope.event_id, CATALOG.decode(envelope)))
        return decoded

    def variant_of(self, openid: str) -> str:
        return str(self.pushes.deliveries[f"push_1:{openid}"]["variant"])


async def test_each_send_s_outcome_is_emitted_with_its_record() -> None:
    busy = SendRefused(-1, "transient", "system busy")
    world = World(refusals={"o_gone": SendRefused(43004, "recipient", "require subscribe"), "o_busy": busy})
    doc = await world.push(["o_ok", "o_gone", "o_no_consent", "o_busy"])
    assert await world.dispatcher.run_once()

    events = dict(world.events())
    assert set(events) == {
        push_delivered_event_id("push_1", "o_ok"),
        push_failed_event_id("push_1", "o_gone"),
        push_failed_event_id("push_1", "o_busy"),
    }  # a skipped member (no consent) was never sent anything: no event
    delivered = events[push_delivered_event_id("push_1", "o_ok")]
    assert delivered == PushDelivered(
        openid="o_ok",
        push_id="push_1",
        segment_id=doc["segment_id"],
        variant=world.variant_of("o_ok"),
        project_id="proj_42",
        push_name="p",  # the segment's name is learnt when the audience is frozen: not here
        channel="customer_service",
        delivered_at=NOW,
    )
    gone = events[push_failed_event_id("push_1", "o_gone")]
    assert isinstance(gone, PushDeliveryFailed)
    assert (gone.errcode, gone.variant, gone.project_id, gone.failed_at) == (
        43004,
        world.variant_of("o_gone"),
        "proj_42",
        NOW,
    )
    assert events[push_failed_event_id("push_1", "o_busy")].errcode == -1  # retried, then failed with its code
    # Each event's record says the same.
    assert world.pushes.deliveries["push_1:o_ok"]["status"] == "sent"
    assert world.pushes.deliveries["push_1:o_gone"]["errcode"] == 43004
    for _, envelope in world.pushes.emitted:
        assert (envelope.appid, envelope.key) == ("wx1", envelope.payload["openid"])


async def test_a_push_for_no_project_says_so_and_our_own_failure_codes_are_negative() -> None:
    unreachable = SendRefused(TRANSPORT_FAILED, "transient", "connection refused")
    world = World(refusals={"o_far": unreachable})
    await world.push(["o_far"], project_id=None)
    assert await world.dispatcher.run_once()
    [(event_id, failed)] = world.events()
    assert event_id == push_failed_event_id("push_1", "o_far")
    assert isinstance(failed, PushDeliveryFailed)
    assert (failed.errcode, failed.project_id, failed.channel) == (-2, None, "customer_service")


async def test_a_send_cut_off_by_a_crash_is_reported_failed_once_with_our_code() -> None:
    world = World()
    await world.push(["o_cut", "o_next"])
    record = {"_id": "push_1:o_cut", "push_id": "push_1", "appid": "wx1", "openid": "o_cut", "variant": "B"}
    await world.pushes.record([record | {"status": "sending", "channel": "template", "created_at": NOW}])
    assert await world.dispatcher.run_once()

    events = dict(world.events())
    cut = events[push_failed_event_id("push_1", "o_cut")]
    assert isinstance(cut, PushDeliveryFailed)
    assert (cut.errcode, cut.channel, cut.variant) == (INTERRUPTED, "template", "B")
    assert push_delivered_event_id("push_1", "o_cut") not in events  # at most once: not sent again
    assert push_delivered_event_id("push_1", "o_next") in events


class CountingPushes(InMemoryPushes):
    """Notes which members the dispatcher reads delivery records for."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up: list[str] = []

    async def recorded(self, push_id: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        self.looked_up += openids
        return await super().recorded(push_id, openids)


async def test_a_resumed_slice_reads_only_the_records_it_met_and_counts_each_member_once() -> None:
    world = World(CountingPushes())
    doc = await world.push(["o_cut", "o_done", "o_new", "o_next"])
    base = {"push_id": "push_1", "appid": "wx1", "variant": "A", "channel": "template", "created_at": NOW}
    await world.pushes.record(
        [
            base | {"_id": "push_1:o_cut", "openid": "o_cut", "status": "sending"},
            base | {"_id": "push_1:o_done", "openid": "o_done", "status": "sent"},
        ]
    )
    assert await world.dispatcher.run_once()

    pushes = cast(CountingPushes, world.pushes)
    assert sorted(pushes.looked_up) == ["o_cut", "o_done"]  # only the members found recorded
    assert sorted(world.sender.sent) == ["o_new", "o_next"]
    assert world.pushes.deliveries["push_1:o_cut"]["errcode"] == "interrupted"
    assert world.pushes.deliveries["push_1:o_done"]["status"] == "sent"
    total = world.pushes.pushes[doc["_id"]]["stats"]["total"]
    assert (total["sent"], total["failed"]) == (2, {"interrupted": 1})


async def test_a_retried_transaction_emits_the_same_events_once() -> None:
    pushes = ConflictingPushes()
    world = World(pushes)
    await world.push(["o1", "o2"])
    pushes.conflicts = 1  # the slice's first commit loses a race and is run again
    assert await world.dispatcher.run_once()

    ids = [event_id for event_id, _ in world.events()]
    assert sorted(ids) == sorted(push_delivered_event_id("push_1", o) for o in ("o1", "o2"))
    assert world.pushes.deliveries["push_1:o1"]["status"] == "sent"
    assert len(world.pushes.member_sends["wx1:o1"]["recent"]) == 1  # the aborted attempt left nothing behind

    # The push taken up again (a crashed worker's lease ran out): recorded members are not sent, nor reported.
    await world.pushes.update("push_1", {"status": "sending", "cursor": {"chunk": 0, "offset": 0}})
    assert await world.dispatcher.run_once()
    assert [event_id for event_id, _ in world.events()] == ids
    assert world.sender.sent == ["o1", "o2"]


async def test_an_aborted_transaction_emits_nothing_and_keeps_no_record() -> None:
    pushes = InMemoryPushes()
    pushes.add_profiles([_profile("o1")])
    async with pushes.transaction() as uow:
        await uow.deliveries.count_sends("wx1", ["o1"], NOW)
        await uow.deliveries.record_click("push_1", "A", "o1", "https://brand.example/a", NOW)
        await uow.emit(PUSH_DELIVERIES, _any_event())
        # left without commit
    assert (pushes.emitted, pushes.member_sends, pushes.clicks) == ([], {}, {})


def _any_event() -> Envelope:
    event = PushDelivered(openid="o1", push_id="push_1", segment_id="seg", channel="template", delivered_at=NOW)
    return Envelope.wrap(event, appid="wx1", key="o1", event_id="x")


async def test_clicks_are_emitted_first_then_repeats_each_once_with_the_push_s_project() -> None:
    world = World()
    doc = await world.push(["o1"])
    first = sign_click(KEY, ClickLink("push_1", "B", "o1", "https://brand.example/a"))
    other = sign_click(KEY, ClickLink("push_1", "B", "o1", "https://brand.example/t"))
    assert await world.use.click(first) == "https://brand.example/a"
    assert await world.use.click(other) == "https://brand.example/t"
    assert await world.use.click(first) == "https://brand.example/a"

    clicks = world.events()
    assert [event_id for event_id, _ in clicks] == [
        "push_clicked:push_1:B:o1:1",
        "push_clicked:push_1:B:o1:2",
        "push_clicked:push_1:B:o1:3",
    ]
    payloads = [payload for _, payload in clicks]
    assert all(isinstance(p, PushClicked) for p in payloads)
    assert [p.first for p in payloads] == [True, False, False]
    assert {(p.openid, p.push_id, p.segment_id, p.variant, p.project_id, p.clicked_at) for p in payloads} == {
        ("o1", "push_1", doc["segment_id"], "B", "proj_42", NOW)
    }
    assert world.pushes.pushes["push_1"]["stats"]["total"]["clicked"] == 1  # the member counts once


async def test_a_mass_send_s_anonymous_click_is_counted_but_names_nobody() -> None:
    world = World()
    await world.push(["o1"])
    assert await world.use.click(sign_click(KEY, ClickLink("push_1", "A", "", "https://brand.example/a")))
    assert world.pushes.emitted == []
    assert world.pushes.anonymous_clicks == {"push_1:A:~anonymous": 1}


async def test_a_click_that_loses_a_race_is_recorded_and_emitted_once() -> None:
    pushes = ConflictingPushes()
    world = World(pushes)
    await world.push(["o1"])
    pushes.conflicts = 1
    await world.use.click(sign_click(KEY, ClickLink("push_1", "A", "o1", "https://brand.example/a")))
    [(event_id, clicked)] = world.events()
    assert event_id == "push_clicked:push_1:A:o1:1" and clicked.first
    assert "repeats" not in world.pushes.clicks["push_1:A:o1"]


@pytest.mark.parametrize("openid", ["o" * 128])
def test_a_click_id_too_long_for_the_contract_is_hashed(openid: str) -> None:
    from services.segments.service_layer.delivery_events import click_id

    long = click_id("push_1", "A", openid, 1)
    assert long.startswith("h:") and len(long) <= 96
    assert long == click_id("push_1", "A", openid, 1) != click_id("push_1", "A", openid, 2)


class _NoFacts:
    """A facts source with nobody: the test puts its members into the index itself."""

    async def everyone(self, today: object) -> Any:  # pragma: no cover - never rebuilt here
        raise AssertionError("not rebuilt")


async def test_events_name_the_push_and_the_segment_as_it_was_named_when_the_audience_was_frozen() -> None:
    world = World(refusals={"o_gone": SendRefused(43004, "recipient", "require subscribe")})
    world.pushes.add_profiles([_profile("o1"), _profile("o_gone")])
    segment = await world.segments.create("wx1", "孕晚期妈妈", "", {"has_tag": "interest.toys"})
    doc = await world.use.create(
        "wx1", name="十一月奶粉试用", segment_id=segment.id, variants=VARIANTS, project_id="pj"
    )
    live = LiveIndex(cast(Any, _NoFacts()))
    for openid in ("o1", "o_gone"):
        live.index.upsert(MemberFacts(appid="wx1", openid=openid, tags={"interest.toys": 1.0}, following=True))
    await world.pushes.update(doc["_id"], {"status": "materializing"})
    frozen = await world.pushes.get(doc["_id"])
    assert frozen is not None
    assert await freeze(frozen, world.pushes, world.segments, live, NOW, 100) == 2
    # Renamed after the freeze: the push went to the audience of the segment under its former name.
    await world.segments.update("wx1", segment.id, "改名后", "", {"has_tag": "interest.toys"})
    assert await world.dispatcher.run_once()
    await world.use.click(sign_click(KEY, ClickLink("push_1", "A", "o1", "https://brand.example/a")))

    events = dict(world.events())
    delivered = events[push_delivered_event_id("push_1", "o1")]
    failed = events[push_failed_event_id("push_1", "o_gone")]
    clicked = events["push_clicked:push_1:A:o1:1"]
    for event in (delivered, failed, clicked):
        assert (event.push_name, event.segment_name) == ("十一月奶粉试用", "孕晚期妈妈")
        assert (event.push_id, event.segment_id) == ("push_1", segment.id)


def test_names_longer_than_the_contract_allows_are_cut_short_and_empty_ones_left_out() -> None:
    from services.segments.service_layer.delivery_events import clicked_event

    envelope = clicked_event(
        appid="wx1",
        push_id="push_1",
        segment_id="seg",
        project_id=None,
        variant="A",
        openid="o1",
        number=1,
        at=NOW,
        push_name="n" * 300,
        segment_name="",
    )
    clicked = CATALOG.decode(envelope)
    assert isinstance(clicked, PushClicked)
    assert clicked.push_name == "n" * 200 and clicked.segment_name is None
