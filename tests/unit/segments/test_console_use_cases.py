"""What the operator console asks of pushes, over the in-memory stores: drafts composed apart from
sending (edited at a version, sent, deleted; nothing else may be done to them), the eligibility
breakdown counted from the dispatcher's own decisions (and sampled for large segments), test sends to
the account's testers kept apart from the push, a member's pushes with their clicks, where a segment
is used, and the push page's stats report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from services.segments.adapters.memory import InMemorySegments
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.click_links import ClickLink, sign_click
from services.segments.domain.pushes import (
    Channel,
    FrequencyCap,
    IllegalTransition,
    MessageContent,
    PushAction,
    PushInvalid,
    PushNotFound,
    QuietHours,
    TemplateContent,
    Variant,
)
from services.segments.domain.rules import MemberFacts
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.ports import Content, SendRefused
from services.segments.service_layer.pushes import (
    MAX_TESTERS,
    PushDefaults,
    PushUseCases,
    PushVersionConflict,
    SegmentInUse,
    SendingUnavailable,
)
from services.segments.service_layer.reports import report_of
from tests.fakes.member_facts import FakeFacts
from tests.fakes.push_repository import FakePushRepository
from tests.fakes.sender import RecordingSender

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Beijing: outside the quiet hours
FORMULA = "interest.feeding.formula"
RULE = {"has_tag": FORMULA}
KEY = b"click-key"
TEXT = MessageContent("text", text="hi https://brand.example/a")
TEMPLATE = TemplateContent("tpl", {"first": "hi"}, "https://brand.example/t")
WITH_FALLBACK = [Variant("A", 1, TEXT, template=TEMPLATE)]
TEXT_ONLY = [Variant("A", 1, TEXT)]


def _profile(
    openid: str, *, following: bool = True, consent: bool = True, active_hours_ago: float = 3
) -> dict[str, Any]:
    return {
        "_id": f"wx1:{openid}",
        "openid": openid,
        "follow": {"following": following},
        "consents": {"marketing": {"given": consent}},
        "last_active_at": NOW - timedelta(hours=active_hours_ago),
    }


class RefusingSender(RecordingSender):
    """Answers every send, except to the openids in ``refuse`` (43004: not following)."""

    def __init__(self, refuse: Sequence[str] = ()) -> None:
        super().__init__()
        self.refuse = set(refuse)
        self.channels: list[Channel] = []

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        if openid in self.refuse:
            raise SendRefused(43004, "recipient", "require subscribe")
        self.channels.append(channel)
        return await super().send(appid, openid, channel, content, client_msg_id)


class Console:
    """The push use cases as the API builds them, over the in-memory stores and a live index of ``o0``..``o6``."""

    async def start(self, sample: int = 5_000, sender: RecordingSender | None = None) -> Console:
        openids = [f"o{i}" for i in range(7)]
        self.facts = FakeFacts([MemberFacts(appid="wx1", openid=o, tags={FORMULA: 1.0}) for o in openids])
        self.live = LiveIndex(self.facts)
        await self.live.rebuild(NOW)
        self.segments = InMemorySegments()
        self.pushes = FakePushRepository()
        self.pushes.add_profiles(
            [
                _profile("o0"),  # in the window: customer-service message
                _profile("o1", following=False),
                _profile("o2", consent=False),
                _profile("o3"),  # sent something an hour ago: capped
                _profile("o4", active_hours_ago=72),  # outside the window: template if the variant has one
                _profile("o5", active_hours_ago=1),
                # o6 has no profile
            ]
        )
        await self.pushes.count_sends("wx1", ["o3"], NOW - timedelta(hours=1))
        self.sender = sender or RefusingSender()
        self.ids = iter(f"push_{n}" for n in range(100))
        self.use = PushUseCases(
            self.pushes,
            self.segments,
            PushDefaults(FrequencyCap(1, 3), QuietHours(time(22), time(8))),
            click_key=KEY,
            clock=lambda: NOW,
            new_id=lambda: next(self.ids),
            live=self.live,
            recipients=self.pushes,
            read_push=push_from_document,
            sender=self.sender,
            eligibility_sample=sample,
        )
        self.segment = (await self.segments.create("wx1", "s", "", RULE)).id
        return self

    async def draft(self, variants: Sequence[Variant] = TEXT_ONLY, **fields: Any) -> dict[str, Any]:
        return await self.use.create("wx1", name="d", segment_id=self.segment, variants=variants, draft=True, **fields)

    async def dispatch(self, push_id: str) -> None:
        """Freeze the push's audience as the API does and send it as the worker does."""
        index = self.live.index
        openids = [o for _, o in index.keys(index.account("wx1"))]
        await self.pushes.save_audience(push_id, openids, 100)
        self.pushes.docs[push_id] |= {"status": "sending", "audience_size": len(openids)}
        self.pushes.docs[push_id]["stats"]["total"]["targeted"] = len(openids)
        config = DispatchConfig(click_base_url="https://c.example", click_key=KEY)
        dispatcher = Dispatcher(self.pushes, self.sender, config, read_push=push_from_document, clock=lambda: NOW)
        assert await dispatcher.run_once()


@pytest.fixture
async def console() -> Console:
    return await Console().start()


# -- drafts ------------------------------------------------------------------------------------------------


async def test_a_draft_waits_unscheduled_and_is_edited_at_its_version(console: Console) -> None:
    draft = await console.draft()
    assert (draft["status"], draft["send_at"], draft["version"]) == ("draft", None, 1)
    assert await console.pushes.claim_due(["scheduled", "draft"], "materializing", NOW, timedelta(minutes=1)) is None
    push = await console.use.compose(
        "wx1", push_id=draft["_id"], name="renamed", segment_id=console.segment, variants=WITH_FALLBACK, draft=True
    )
    edited = await console.use.edit(push, 1)
    assert (edited["name"], edited["version"], edited["status"]) == ("renamed", 2, "draft")
    assert edited["variants"][0]["template"]["template_id"] == "tpl"
    with pytest.raises(PushVersionConflict, match="at version 2, not 1"):
        await console.use.edit(push, 1)


async def test_sending_a_draft_schedules_it_now_or_at_the_time_it_asked_for(console: Console) -> None:
    now_draft = await console.draft()
    later = NOW + timedelta(hours=5)
    later_draft = await console.draft(send_at=later)
    sent = await console.use.send("wx1", now_draft["_id"])
    assert (sent["status"], sent["send_at"], sent["version"]) == ("scheduled", NOW, 2)
    assert (await console.use.send("wx1", later_draft["_id"], 1))["send_at"] == later
    with pytest.raises(IllegalTransition, match="cannot send a push that is scheduled"):
        await console.use.send("wx1", now_draft["_id"])


async def test_only_drafts_are_edited_sent_or_deleted(console: Console) -> None:
    scheduled = await console.use.create("wx1", name="p", segment_id=console.segment, variants=TEXT_ONLY)
    assert scheduled["status"] == "scheduled"
    push = await console.use.compose(
        "wx1", push_id=scheduled["_id"], name="x", segment_id=console.segment, variants=TEXT_ONLY, draft=True
    )
    with pytest.raises(IllegalTransition, match="cannot edit a push that is scheduled"):
        await console.use.edit(push, 1)
    with pytest.raises(IllegalTransition, match="cannot delete a push that is scheduled"):
        await console.use.delete("wx1", scheduled["_id"])
    draft = await console.draft()
    with pytest.raises(IllegalTransition, match="cannot cancel a push that is draft"):
        await console.use.act("wx1", draft["_id"], PushAction.CANCEL)
    with pytest.raises(PushVersionConflict):
        await console.use.delete("wx1", draft["_id"], 7)
    assert (await console.use.delete("wx1", draft["_id"]))["_id"] == draft["_id"]
    with pytest.raises(PushNotFound):
        await console.use.get("wx1", draft["_id"])


async def test_a_draft_whose_segment_is_gone_is_not_sent(console: Console) -> None:
    draft = await console.draft()
    await console.segments.delete("wx1", console.segment)
    with pytest.raises(PushInvalid, match=r"segment .* was deleted"):
        await console.use.send("wx1", draft["_id"])
    assert console.pushes.docs[draft["_id"]]["status"] == "draft"


async def test_a_draft_sent_meanwhile_is_not_sent_again(console: Console) -> None:
    draft = await console.draft()
    console.pushes.docs[draft["_id"]]["version"] = 1
    original = console.pushes.send_draft

    async def behind_our_back(push_id: str, version: int, send_at: datetime) -> dict[str, Any] | None:
        console.pushes.docs[push_id]["status"] = "scheduled"
        return await original(push_id, version, send_at)

    console.pushes.send_draft = behind_our_back  # type: ignore[method-assign]
    with pytest.raises(IllegalTransition, match="cannot send a push that is scheduled"):
        await console.use.send("wx1", draft["_id"])


# -- eligibility ---------------------------------------------------------------------------------------------


def _steps(breakdown: dict[str, Any]) -> dict[str, int]:
    return {step["step"]: step["count"] for step in breakdown["steps"]}


async def test_the_breakdown_counts_each_step_the_dispatcher_takes(console: Console) -> None:
    draft = await console.draft(WITH_FALLBACK)
    seen = await console.use.eligibility_of("wx1", draft["_id"])
    assert _steps(seen) == {
        "in_segment": 7,
        "unknown_member": 1,
        "not_following": 1,
        "no_consent": 1,
        "capped": 1,
        "mass_budget": 0,
        "outside_window": 0,
        "no_subscription_consent": 0,
        "template_fallback": 1,
        "will_receive": 3,
    }
    assert seen["channels"] == {"customer_service": 2, "template": 1}
    assert (seen["estimated"], seen["sample_size"], seen["in_segment"], seen["will_receive"]) == (False, 7, 7, 3)
    rules = {step["step"]: step["rule"] for step in seen["steps"]}
    assert "48" in rules["template_fallback"]["zh"] and "service notices" in rules["template_fallback"]["en"]
    assert "1 push(es) per member per day and 3 per 7 days" in rules["capped"]["en"]
    # The dispatcher, sending the same push now, does exactly that.
    await console.use.send("wx1", draft["_id"])
    await console.dispatch(draft["_id"])
    stats = console.pushes.docs[draft["_id"]]["stats"]["total"]
    assert stats["sent"] == 3 and stats["channels"] == {"customer_service": 2, "template": 1}
    assert sum(stats["skipped"].values()) == 4


async def test_without_a_template_the_closed_window_stops_members(console: Console) -> None:
    seen = await console.use.eligibility(
        await console.use.compose("wx1", push_id="x", name="x", segment_id=console.segment, variants=TEXT_ONLY)
    )
    assert (_steps(seen)["outside_window"], _steps(seen)["template_fallback"], seen["will_receive"]) == (1, 0, 2)
    assert [step["remaining"] for step in seen["steps"]] == [7, 6, 5, 4, 3, 3, 2, 2, 2, 2]


async def test_a_large_segment_is_sampled_and_scaled() -> None:
    console = await Console().start(sample=2)
    seen = await console.use.eligibility_of("wx1", (await console.draft())["_id"])
    assert (seen["estimated"], seen["sample_size"], seen["in_segment"]) == (True, 2, 7)
    assert _steps(seen)["in_segment"] == 7


# -- test sends ---------------------------------------------------------------------------------------------


async def test_testers_are_kept_per_account_at_most_twenty(console: Console) -> None:
    assert await console.use.testers("wx1") == []
    saved = await console.use.set_testers("wx1", [{"openid": "o0", "label": "Ann"}, {"openid": "o9", "label": ""}])
    assert [t["openid"] for t in saved] == ["o0", "o9"] and await console.use.testers("wx2") == []
    with pytest.raises(PushInvalid, match="each tester once"):
        await console.use.set_testers("wx1", [{"openid": "o0", "label": ""}] * 2)
    with pytest.raises(PushInvalid, match="at most 20"):
        await console.use.set_testers("wx1", [{"openid": f"t{i}", "label": ""} for i in range(MAX_TESTERS + 1)])


async def test_a_test_send_reaches_every_tester_in_every_variant_and_counts_nothing(console: Console) -> None:
    draft = await console.draft([Variant("A", 1, TEXT, template=TEMPLATE), Variant("B", 1, TEXT)])
    with pytest.raises(SendingUnavailable, match="no testers"):
        await console.use.test_send_of("wx1", draft["_id"], "op_1")
    await console.use.set_testers("wx1", [{"openid": "o0", "label": "Ann"}, {"openid": "o_gone", "label": "Bo"}])
    assert isinstance(console.sender, RefusingSender)
    console.sender.refuse = {"o_gone"}
    results = await console.use.test_send_of("wx1", draft["_id"], "op_1")
    assert [(r["openid"], r["variant"], r["channel"], r["ok"], r["errcode"]) for r in results] == [
        ("o0", "A", "customer_service", True, 0),
        ("o0", "A", "template", True, 0),
        ("o0", "B", "customer_service", True, 0),
        ("o_gone", "A", "customer_service", False, 43004),
        ("o_gone", "A", "template", False, 43004),
        ("o_gone", "B", "customer_service", False, 43004),
    ]
    assert results[-1]["label"] == "Bo" and "require subscribe" in results[-1]["errmsg"]
    assert len(console.pushes.test_sends) == 6 and console.pushes.test_sends[0]["by"] == "op_1"
    assert console.pushes.deliveries == {} and console.pushes.member_sends.keys() == {"wx1:o3"}
    assert console.pushes.docs[draft["_id"]]["stats"] == {"total": {"targeted": 0, "sent": 0, "clicked": 0}}


async def test_a_process_without_a_sender_cannot_test_send(console: Console) -> None:
    draft = await console.draft()
    console.use._sender = None
    with pytest.raises(SendingUnavailable, match="no WeChat sender"):
        await console.use.test_send_of("wx1", draft["_id"], "op_1")


# -- a member's pushes, a segment's usage -------------------------------------------------------------------


async def test_a_members_pushes_say_what_happened_and_what_they_clicked(console: Console) -> None:
    first = await console.use.create("wx1", name="first", segment_id=console.segment, variants=WITH_FALLBACK)
    await console.dispatch(first["_id"])
    token = sign_click(KEY, ClickLink(first["_id"], "A", "o0", "https://brand.example/a"))
    await console.use.click(token)
    await console.use.click(token)
    [o0] = await console.use.of_member("wx1", "o0", 10)
    assert (o0["push_id"], o0["name"], o0["variant"], o0["channel"], o0["status"]) == (
        first["_id"],
        "first",
        "A",
        "customer_service",
        "sent",
    )
    assert o0["clicks"] == {"count": 2, "first_at": NOW, "links": ["https://brand.example/a"]}
    [o1] = await console.use.of_member("wx1", "o1", 10)
    assert (o1["status"], o1["reason"], o1["clicks"]["count"]) == ("skipped", "unfollowed", 0)
    assert await console.use.of_member("wx2", "o0", 10) == []


async def test_a_segment_names_its_pushes_and_is_kept_while_one_will_still_send(console: Console) -> None:
    draft = await console.draft()
    await console.use.check_segment_unused("wx1", console.segment)  # a draft does not hold it
    await console.use.send("wx1", draft["_id"])
    assert await console.use.of_segment("wx1", console.segment) == [
        {"id": draft["_id"], "name": "d", "status": "scheduled"}
    ]
    with pytest.raises(SegmentInUse, match=f"{draft['_id']} \\(d, scheduled\\)"):
        await console.use.check_segment_unused("wx1", console.segment)
    await console.use.act("wx1", draft["_id"], PushAction.CANCEL)
    await console.use.check_segment_unused("wx1", console.segment)


# -- the push page's report ------------------------------------------------------------------------------------


async def test_the_report_explains_failures_skips_clicks_and_progress(console: Console) -> None:
    push = await console.use.create("wx1", name="p", segment_id=console.segment, variants=WITH_FALLBACK)
    await console.dispatch(push["_id"])
    await console.pushes.update(
        push["_id"], {}, {"stats.total.failed.45015": 2, "stats.variants.A.failed.45015": 2, "stats.total.failed.99": 1}
    )
    for openid in ("o0", "o5"):
        await console.use.click(sign_click(KEY, ClickLink(push["_id"], "A", openid, "https://brand.example/a")))
    await console.use.click(sign_click(KEY, ClickLink(push["_id"], "A", "o0", "https://brand.example/t")))
    report = report_of(console.pushes.docs[push["_id"]])
    assert report["progress"] == {
        "audience": 7,
        "processed": 7,
        "sent": 3,
        "delivered": 0,
        "failed": 3,
        "skipped": 4,
        "percent": 100.0,
    }
    assert report["failed_by_code"][0] == {
        "errcode": "45015",
        "count": 2,
        "meaning": {
            "zh": report["failed_by_code"][0]["meaning"]["zh"],
            "en": "the 48-hour interaction window has closed",
        },
    }
    assert report["failed_by_code"][1] == {"errcode": "99", "count": 1, "meaning": None}
    assert report["skipped_by_reason"] == {"frequency_cap": 1, "no_consent": 1, "unfollowed": 1, "unknown_member": 1}
    assert report["clicks"] == {
        "members": 2,
        "by_link": [{"url": "https://brand.example/a", "clicks": 2}, {"url": "https://brand.example/t", "clicks": 1}],
    }
    assert report["variants"]["A"]["links"] == report["clicks"]["by_link"]
    assert report["variants"]["A"]["clicked"] == 2 and report["variants"]["A"]["failed"] == 2
    assert report_of({"stats": {}})["progress"]["percent"] is None
