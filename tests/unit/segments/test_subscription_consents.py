"""Subscription-message consents (issue 21 item 5), over the in-memory stores: kept from the platform's
pushes once each, decided on before sending (members without an unused consent are skipped, the
platform is not called), one consent used per message and claimed atomically so two pushes cannot both
use one, given back when the message was not sent, and counted in the eligibility breakdown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from services.segments.adapters.memory import (
    InMemoryConsents,
    InMemoryConsentUnitOfWork,
    InMemoryPushes,
    InMemorySegments,
)
from services.segments.adapters.push_documents import push_from_document
from services.segments.bootstrap import SegmentsService
from services.segments.domain.consents import (
    ConsentChange,
    ConsentStatus,
    change_of_popup,
    change_of_send_result,
    change_of_settings,
)
from services.segments.domain.pushes import (
    TRANSPORT_FAILED,
    Channel,
    Decision,
    FrequencyCap,
    MessageContent,
    QuietHours,
    Recipient,
    SkipReason,
    SubscriptionContent,
    Variant,
    decide,
)
from services.segments.entrypoints.consumer import _on_push
from services.segments.service_layer.consents import ConsentGate, record_consents
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.eligibility import breakdown
from services.segments.service_layer.ports import Content, SendRefused
from services.segments.service_layer.pushes import PushDefaults, PushUseCases
from services.segments.settings import SegmentsSettings
from shared.contracts import (
    SubscriptionChoice,
    SubscriptionPopupAnswered,
    SubscriptionSendFinished,
    SubscriptionSendResult,
    SubscriptionSettingsChanged,
)
from shared.events import Envelope, Event
from tests.fakes.sender import RecordingSender

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Beijing: outside the quiet hours
KEY = b"click-key"
TPL = "TPL_VISIT"
NOTICE = SubscriptionContent(TPL, {"thing1": "产检提醒"}, "pages/index")
ONLY_SUBSCRIPTION = [Variant("S", 1, subscription=NOTICE)]


def _envelope(event: Event, event_id: str) -> Envelope:
    return Envelope.wrap(event, appid="wx1", key="o1", occurred_at=NOW, event_id=event_id)


def _popup(openid: str, *answers: tuple[str, str]) -> SubscriptionPopupAnswered:
    choices = [SubscriptionChoice(template_id=t, status=s, scene="2") for t, s in answers]
    return SubscriptionPopupAnswered(openid=openid, answered_at=NOW, choices=choices)


# -- the rules -----------------------------------------------------------------------------------------


def test_what_each_answer_of_the_platform_does() -> None:
    assert change_of_popup("accept") is ConsentChange.GRANT
    assert change_of_popup("reject") is ConsentChange.DECLINE
    assert change_of_settings("reject") is ConsentChange.CANCEL
    assert change_of_settings("accept") is ConsentChange.RESUME
    assert change_of_send_result(0, "success") is None
    assert change_of_send_result(43101, "failed:user block") is ConsentChange.CANCEL
    assert change_of_send_result(1, "failed:system failed") is None


def test_decide_skips_a_subscription_message_without_an_unused_consent() -> None:
    base = Recipient("o1", following=True, marketing_consent=True, last_active_at=None)
    variant = ONLY_SUBSCRIPTION[0]
    cap = FrequencyCap()
    assert decide(base, variant, cap, NOW) == Decision(channel=Channel.SUBSCRIPTION)  # consents not known
    with_consent = Recipient("o1", True, True, None, subscriptions=frozenset({TPL}))
    assert decide(with_consent, variant, cap, NOW) == Decision(channel=Channel.SUBSCRIPTION)
    without = Recipient("o1", True, True, None, subscriptions=frozenset({"OTHER"}))
    assert decide(without, variant, cap, NOW) == Decision(reason=SkipReason.NO_SUBSCRIPTION_CONSENT)
    # Inside the window a variant with a message still goes as a customer-service message.
    active = Recipient("o1", True, True, NOW - timedelta(hours=1), subscriptions=frozenset())
    both = Variant("MS", 1, message=MessageContent("text", text="hi"), subscription=NOTICE)
    assert decide(active, both, cap, NOW) == Decision(channel=Channel.CUSTOMER_SERVICE)


# -- kept from the platform's pushes -------------------------------------------------------------------


async def test_popups_add_one_time_consents_once_each_and_rejections_allow_nothing() -> None:
    uow = InMemoryConsentUnitOfWork()
    both = _popup("o1", (TPL, "accept"), ("TPL_B", "reject"))
    assert await record_consents(_envelope(both, "e1"), both, uow, ())
    popup = _popup("o1", (TPL, "accept"))
    assert await record_consents(_envelope(popup, "e2"), popup, uow, ())
    assert not await record_consents(_envelope(popup, "e2"), popup, uow, ())  # the same push again
    held = {c.template_id: c for c in await uow.store.of_member("wx1", "o1")}
    assert (held[TPL].status, held[TPL].credits, held[TPL].usable) == (ConsentStatus.ACCEPTED, 2, True)
    assert (held["TPL_B"].status, held["TPL_B"].credits, held["TPL_B"].usable) == (ConsentStatus.REJECTED, 0, False)
    assert held["TPL_B"].last_answer == "reject"


async def test_a_cancel_in_the_settings_or_a_refused_message_ends_the_consent() -> None:
    uow = InMemoryConsentUnitOfWork()
    popup = _popup("o1", (TPL, "accept"), ("TPL_LONG", "accept"))
    await record_consents(_envelope(popup, "e1"), popup, uow, {"TPL_LONG"})
    cancel = SubscriptionSettingsChanged(
        openid="o1", changed_at=NOW, choices=[SubscriptionChoice(template_id=TPL, status="reject")]
    )
    await record_consents(_envelope(cancel, "e2"), cancel, uow, {"TPL_LONG"})
    held = {c.template_id: c for c in await uow.store.of_member("wx1", "o1")}
    assert (held[TPL].status, held[TPL].credits) == (ConsentStatus.CANCELLED, 0)
    assert held["TPL_LONG"].long_term and held["TPL_LONG"].usable

    refused = SubscriptionSendFinished(
        openid="o1",
        finished_at=NOW,
        results=[
            SubscriptionSendResult(
                template_id="TPL_LONG", msg_id="9", error_code=43101, error_status="failed:user block"
            )
        ],
    )
    await record_consents(_envelope(refused, "e3"), refused, uow, {"TPL_LONG"})
    assert await uow.store.usable("wx1", ["o1"], [TPL, "TPL_LONG"]) == {}
    on_again = SubscriptionSettingsChanged(
        openid="o1", changed_at=NOW, choices=[SubscriptionChoice(template_id="TPL_LONG", status="accept")]
    )
    await record_consents(_envelope(on_again, "e4"), on_again, uow, {"TPL_LONG"})
    assert await uow.store.usable("wx1", ["o1"], [TPL, "TPL_LONG"]) == {"o1": frozenset({"TPL_LONG"})}


async def test_a_failed_transaction_keeps_neither_the_consent_nor_the_claim() -> None:
    uow = InMemoryConsentUnitOfWork()
    popup = _popup("o1", (TPL, "accept"))
    with pytest.raises(RuntimeError):
        async with uow:
            assert await uow.claim("segments.consents", "e1")
            await uow.consents.apply("wx1", "o1", TPL, ConsentChange.GRANT, long_term=False, at=NOW)
            raise RuntimeError("crash before commit")
    assert uow.store.documents == {}
    assert await record_consents(_envelope(popup, "e1"), popup, uow, ())  # redelivered: applied now


# -- the dispatcher ------------------------------------------------------------------------------------


def _profile(openid: str) -> dict[str, Any]:
    return {
        "_id": f"wx1:{openid}",
        "openid": openid,
        "follow": {"following": True},
        "consents": {"marketing": {"given": True}},
        "last_active_at": NOW - timedelta(days=5),  # outside the window
    }


class Notices(RecordingSender):
    """Subscription messages go through (no msgid, as bizsend answers), except the refusals given."""

    def __init__(self, refusals: dict[str, SendRefused] | None = None) -> None:
        super().__init__()
        self.refusals = refusals or {}
        self.channels: list[Channel] = []

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        if openid in self.refusals:
            raise self.refusals[openid]
        self.sent.append(openid)
        self.channels.append(channel)
        return None


class World:
    def __init__(
        self, refusals: dict[str, SendRefused] | None = None, consents: InMemoryConsents | None = None
    ) -> None:
        self.pushes = InMemoryPushes()
        self.segments = InMemorySegments()
        self.consents = consents or InMemoryConsents()
        self.sender = Notices(refusals)
        self.ids = iter(f"push_{n}" for n in range(1, 10))
        gate = ConsentGate(self.consents)
        self.use = PushUseCases(
            self.pushes,
            self.segments,
            # caps out of the way: consents are what these tests are about
            PushDefaults(FrequencyCap(50, 200), QuietHours(time(22), time(8))),
            click_key=KEY,
            clock=lambda: NOW,
            new_id=lambda: next(self.ids),
            read_push=push_from_document,
            recipients=self.pushes,
            consents=gate,
        )
        config = DispatchConfig(click_base_url="https://c.example", click_key=KEY, retry_seconds=0)
        self.dispatcher = Dispatcher(
            self.pushes, self.sender, config, read_push=push_from_document, clock=lambda: NOW, consents=gate
        )

    async def grant(self, openid: str, times: int = 1, *, long_term: bool = False) -> None:
        for _ in range(times):
            await self.consents.apply("wx1", openid, TPL, ConsentChange.GRANT, long_term=long_term, at=NOW)

    async def push(self, openids: Sequence[str], variants: Sequence[Variant] = ONLY_SUBSCRIPTION) -> str:
        self.pushes.add_profiles(_profile(o) for o in openids)
        segment = await self.segments.create("wx1", f"s{len(self.segments.saved)}", "", {"has_tag": "x.y"})
        doc = await self.use.create("wx1", name="p", segment_id=segment.id, variants=variants)
        await self.pushes.save_audience(doc["_id"], openids, 100)
        await self.pushes.update(doc["_id"], {"status": "sending", "audience_size": len(openids)})
        return str(doc["_id"])

    def credits(self, openid: str) -> int:
        return int(self.consents.documents[f"wx1:{openid}:{TPL}"]["credits"])


async def test_a_consent_is_used_by_one_push_and_the_next_skips_without_calling_the_platform() -> None:
    world = World()
    await world.grant("o_yes")
    first = await world.push(["o_yes", "o_no"])
    assert await world.dispatcher.run_once()
    assert world.sender.sent == ["o_yes"] and world.sender.channels == [Channel.SUBSCRIPTION]
    skipped = world.pushes.deliveries[f"{first}:o_no"]
    assert (skipped["status"], skipped["reason"]) == ("skipped", "no_subscription_consent")
    assert world.credits("o_yes") == 0

    second = await world.push(["o_yes"])
    assert await world.dispatcher.run_once()
    assert world.sender.sent == ["o_yes"]  # the platform was not asked again
    assert world.pushes.deliveries[f"{second}:o_yes"]["reason"] == "no_subscription_consent"
    stats = world.pushes.pushes[second]["stats"]["total"]
    assert stats["skipped"] == {"no_subscription_consent": 1}


async def test_one_time_consents_add_up_and_a_long_term_one_is_never_used_up() -> None:
    world = World()
    await world.grant("o_twice", 2)
    await world.grant("o_long", long_term=True)
    for _ in range(3):
        await world.push(["o_twice", "o_long"])
        assert await world.dispatcher.run_once()
    assert sorted(world.sender.sent) == ["o_long"] * 3 + ["o_twice"] * 2


async def test_two_pushes_cannot_both_use_one_consent() -> None:
    """Both decided while the consent was there; only the first to claim it sends."""
    world = World()
    await world.grant("o1")
    first = await world.push(["o1"])
    second = await world.push(["o1"])
    push_a = push_from_document(world.pushes.pushes[first])
    push_b = push_from_document(world.pushes.pushes[second])
    slice_a = await world.dispatcher._read(push_a, ["o1"], NOW)
    slice_b = await world.dispatcher._read(push_b, ["o1"], NOW)
    assert list(slice_a.plans) == list(slice_b.plans) == ["o1"]  # both saw an unused consent
    await world.dispatcher._claim(push_a, slice_a, NOW)
    await world.dispatcher._claim(push_b, slice_b, NOW)
    assert list(slice_a.plans) == ["o1"] and slice_b.plans == {}
    assert world.pushes.deliveries[f"{second}:o1"]["reason"] == "no_subscription_consent"
    # The loser's cap reservation was given back: only the winner counts toward the member's caps.
    recent = world.pushes.member_sends["wx1:o1"]["recent"]
    assert [entry["push"] for entry in recent] == [first]


async def test_a_message_not_sent_gives_its_consent_back_a_lost_answer_keeps_it_used_and_43101_ends_it() -> None:
    world = World(
        refusals={
            "o_gone": SendRefused(43004, "recipient", "require subscribe"),
            "o_far": SendRefused(TRANSPORT_FAILED, "transient", "read timeout"),  # may have been shown
            "o_platform": SendRefused(43101, "recipient", "user refuse to accept the msg"),
        }
    )
    for openid in ("o_gone", "o_far", "o_platform"):
        await world.grant(openid)
    await world.push(["o_gone", "o_far", "o_platform"])
    assert await world.dispatcher.run_once()
    assert (world.credits("o_gone"), world.credits("o_far"), world.credits("o_platform")) == (1, 0, 0)
    # The platform knew of no consent: ours ends too, so the next push does not ask it again.
    assert world.consents.documents[f"wx1:o_platform:{TPL}"]["status"] == "cancelled"


async def test_a_closed_window_falls_back_to_the_subscription_message_only_with_a_consent() -> None:
    world = World(refusals={})
    both = [Variant("MS", 1, message=MessageContent("text", text="hi"), subscription=NOTICE)]

    class WindowClosed(Notices):
        async def send(
            self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str
        ) -> int | None:
            if channel is Channel.CUSTOMER_SERVICE:
                raise SendRefused(45015, "window", "response out of time limit")
            return await super().send(appid, openid, channel, content, client_msg_id)

    world.sender = WindowClosed()
    world.dispatcher._sender = world.sender
    await world.grant("o_yes")
    push_id = await world.push(["o_yes", "o_no"], both)
    for openid in ("o_yes", "o_no"):  # our record says they were active an hour ago
        world.pushes.profiles[f"wx1:{openid}"]["last_active_at"] = NOW - timedelta(hours=1)
    assert await world.dispatcher.run_once()
    assert world.sender.sent == ["o_yes"] and world.credits("o_yes") == 0
    failed = world.pushes.deliveries[f"{push_id}:o_no"]
    assert (failed["status"], failed["channel"], failed["errcode"]) == ("failed", "subscription", 43101)


async def test_the_eligibility_breakdown_counts_members_without_a_consent() -> None:
    world = World()
    await world.grant("o_yes")
    push_id = await world.push(["o_yes", "o_no", "o_neither"])
    push = push_from_document(world.pushes.pushes[push_id])
    seen = await breakdown(push, ["o_yes", "o_no", "o_neither"], 3, world.pushes, NOW, ConsentGate(world.consents))
    steps = {step["step"]: step["count"] for step in seen["steps"]}
    assert (steps["no_subscription_consent"], seen["will_receive"]) == (2, 1)
    assert seen["channels"] == {"subscription": 1}


async def test_the_worker_keeps_consents_from_the_pushes_topic_with_the_long_term_templates_set() -> None:
    uow = InMemoryConsentUnitOfWork()
    settings = SegmentsSettings(environment="development", subscription_long_term_templates=["TPL_LONG"])
    service = cast(SegmentsService, SimpleNamespace(settings=settings, consent_transactions=lambda: uow))
    popup = _popup("o1", (TPL, "accept"), ("TPL_LONG", "accept"))
    await _on_push(service, _envelope(popup, "e1"), popup)
    held = {c.template_id: c for c in await uow.store.of_member("wx1", "o1")}
    assert (held[TPL].long_term, held[TPL].credits) == (False, 1)
    assert (held["TPL_LONG"].long_term, held["TPL_LONG"].usable) == (True, True)


async def test_without_a_consent_a_push_that_waits_for_the_window_keeps_the_member_waiting() -> None:
    world = World()
    both = [Variant("MS", 1, message=MessageContent("text", text="hi"), subscription=NOTICE)]
    push_id = await world.push(["o_no"], both)
    await world.pushes.update(push_id, {"wait_for_window_hours": 24})
    assert await world.dispatcher.run_once()
    assert world.sender.sent == []
    assert world.pushes.deliveries[f"{push_id}:o_no"]["status"] == "waiting"
