"""Segment and push use cases over in-memory ports: rules checked before anything is saved, previews and
sizes from the live index, versions, explanations; pushes scheduled with the service's defaults, moved
by the operator only as the domain allows (also when the push moved meanwhile), clicks counted once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.segments.adapters.memory import InMemorySegments
from services.segments.domain.click_links import ClickLink, LinkForged, sign_click
from services.segments.domain.pushes import (
    FrequencyCap,
    IllegalTransition,
    MessageContent,
    PushAction,
    PushInvalid,
    PushNotFound,
    QuietHours,
    Variant,
)
from services.segments.domain.rules import MemberFacts, RuleInvalid
from services.segments.domain.segments import SegmentNameTaken, SegmentNotFound
from services.segments.service_layer.live_index import LiveIndex
from services.segments.service_layer.pushes import PushDefaults, PushUseCases
from services.segments.service_layer.segments import MemberNotFound, SegmentUseCases
from tests.fakes.member_facts import FakeFacts
from tests.fakes.push_repository import FakePushRepository

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FORMULA = "interest.feeding.formula"
RULE = {"has_tag": FORMULA}
KEY = b"click-key"
TEXT = [Variant("A", 1, MessageContent("text", text="hi"))]


def facts(appid: str, openid: str, *tags: str) -> MemberFacts:
    return MemberFacts(appid=appid, openid=openid, tags=dict.fromkeys(tags, 1.0))


@pytest.fixture
async def segments() -> SegmentUseCases:
    members = [facts("wx1", f"o{i}", FORMULA) for i in range(4)] + [
        facts("wx1", "o_none"),
        facts("wx2", "o_x", FORMULA),
    ]
    source = FakeFacts(members)
    live = LiveIndex(source)
    await live.rebuild(NOW)
    segments = InMemorySegments()
    return SegmentUseCases(
        segments,
        live,
        source,
        known_tags=frozenset({FORMULA}),
        tag_names={FORMULA: "奶粉"},
        clock=lambda: NOW,
        tag_names_en={FORMULA: "Formula"},
    )


async def test_a_preview_counts_the_accounts_members_and_samples_them(segments: SegmentUseCases) -> None:
    preview = await segments.preview("wx1", RULE, sample=2)
    assert preview.size == 4 and len(preview.sample) == 2 and all(o.startswith("o") for o in preview.sample)
    assert "奶粉" in preview.summary.zh and FORMULA in preview.summary.en
    assert (await segments.preview("wx1", RULE, sample=0)).sample == []
    # Nobody in these facts follows: all four would be skipped, and the preview says so.
    assert preview.reach is not None and (preview.reach.reachable, preview.reach.not_following) == (0, 4)


async def test_a_rule_naming_an_unknown_tag_is_refused_before_saving(segments: SegmentUseCases) -> None:
    with pytest.raises(RuleInvalid):
        await segments.preview("wx1", {"has_tag": "interest.nope"}, sample=1)
    with pytest.raises(RuleInvalid):
        await segments.create("wx1", "x", "", {"has_tag": "interest.nope"})
    assert await segments.of_account("wx1") == []


async def test_segments_are_saved_in_versions_sized_listed_and_deleted(segments: SegmentUseCases) -> None:
    created = await segments.create("wx1", "formula", "", RULE)
    assert (created.segment.version, created.size) == (1, 4)
    with pytest.raises(SegmentNameTaken, match="'formula' exists"):
        await segments.create("wx1", "formula", "", RULE)
    updated = await segments.update("wx1", created.segment.id, "formula", "all", {"not": RULE})
    assert (updated.segment.version, updated.size) == (2, 1)
    assert [v["version"] for v in await segments.versions("wx1", created.segment.id)] == [2, 1]
    assert [v.segment.name for v in await segments.of_account("wx1")] == ["formula"]
    assert (await segments.preview_saved("wx1", created.segment.id, 5)).size == 1
    await segments.delete("wx1", created.segment.id)
    for missing in (
        segments.get("wx1", created.segment.id),
        segments.delete("wx1", created.segment.id),
        segments.update("wx1", created.segment.id, "f", "", RULE),
        segments.versions("wx1", created.segment.id),
    ):
        with pytest.raises(SegmentNotFound, match=f"no segment {created.segment.id}"):
            await missing


async def test_another_accounts_segment_is_not_found(segments: SegmentUseCases) -> None:
    created = await segments.create("wx1", "formula", "", RULE)
    with pytest.raises(SegmentNotFound):
        await segments.get("wx2", created.segment.id)


async def test_a_member_is_explained_or_not_found(segments: SegmentUseCases) -> None:
    created = await segments.create("wx1", "formula", "", RULE)
    why = await segments.explain("wx1", created.segment.id, "o1", "en")
    assert why.held and why.summary == f'has tag "Formula" ({FORMULA})'  # name and code, as in the summary
    why_not = await segments.explain("wx1", created.segment.id, "o_none", "zh")
    assert not why_not.held and why_not.summary == f"有标签「奶粉」({FORMULA})"
    with pytest.raises(MemberNotFound, match="no profile for o_nobody"):
        await segments.explain("wx1", created.segment.id, "o_nobody", "en")


class Harness:
    def __init__(self) -> None:
        self.segments = InMemorySegments()
        self.pushes = FakePushRepository()
        defaults = PushDefaults(FrequencyCap(1, 3), QuietHours(time(22), time(8)))
        self.ids = iter(f"push_{n}" for n in range(100))
        self.use = PushUseCases(
            self.pushes, self.segments, defaults, click_key=KEY, clock=lambda: NOW, new_id=lambda: next(self.ids)
        )

    async def segment(self) -> str:
        return (await self.segments.create("wx1", "s", "", RULE)).id


async def test_a_push_is_scheduled_with_the_services_defaults() -> None:
    h = Harness()
    doc = await h.use.create("wx1", name="p", segment_id=await h.segment(), variants=TEXT)
    assert (doc["_id"], doc["status"], doc["send_at"], doc["created_at"]) == ("push_0", "scheduled", NOW, NOW)
    assert doc["quiet_hours"] == {"start": "22:00:00", "end": "08:00:00"}
    assert doc["cap"] == {"per_day": 1, "per_week": 3}
    assert doc["variants"][0]["message"] == {"kind": "text", "text": "hi", "media_id": "", "articles": []}
    assert doc["stats"] == {"total": {"targeted": 0, "sent": 0, "clicked": 0}}


async def test_a_push_may_ask_for_no_quiet_hours_its_own_cap_and_a_later_time() -> None:
    h = Harness()
    later = NOW + timedelta(days=1)
    doc = await h.use.create(
        "wx1",
        name="p",
        segment_id=await h.segment(),
        variants=TEXT,
        quiet_hours=None,
        cap=FrequencyCap(2, 9),
        send_at=later,
    )
    assert (doc["quiet_hours"], doc["cap"], doc["send_at"]) == (None, {"per_day": 2, "per_week": 9}, later)


async def test_a_push_to_a_missing_segment_or_without_content_is_refused() -> None:
    h = Harness()
    with pytest.raises(SegmentNotFound):
        await h.use.create("wx1", name="p", segment_id="seg_nope", variants=TEXT)
    with pytest.raises(PushInvalid):
        await h.use.create("wx1", name="p", segment_id=await h.segment(), variants=[Variant("A", 1)])
    assert h.pushes.docs == {}


async def test_the_operator_pauses_resumes_and_cancels_as_the_domain_allows() -> None:
    h = Harness()
    push = (await h.use.create("wx1", name="p", segment_id=await h.segment(), variants=TEXT))["_id"]
    with pytest.raises(IllegalTransition, match="cannot resume a push that is scheduled"):
        await h.use.act("wx1", push, PushAction.RESUME)
    paused = await h.use.act("wx1", push, PushAction.PAUSE)
    assert (paused["status"], paused["paused_from"]) == ("paused", "scheduled")
    assert (await h.use.act("wx1", push, PushAction.RESUME))["status"] == "scheduled"
    h.pushes.docs[push] |= {"status": "waiting_quota", "audience_size": 3, "resume_at": NOW}
    resumed = await h.use.act("wx1", push, PushAction.RESUME)
    assert (resumed["status"], resumed["resume_at"], resumed["lease_until"]) == ("sending", None, None)
    cancelled = await h.use.act("wx1", push, PushAction.CANCEL)
    assert (cancelled["status"], cancelled["cancelled_at"]) == ("cancelled", NOW)
    with pytest.raises(IllegalTransition, match="cannot pause a push that is cancelled"):
        await h.use.act("wx1", push, PushAction.PAUSE)


async def test_a_push_that_moved_on_meanwhile_is_not_moved() -> None:
    h = Harness()
    push = (await h.use.create("wx1", name="p", segment_id=await h.segment(), variants=TEXT))["_id"]
    h.pushes.race_to = "finished"
    with pytest.raises(IllegalTransition, match="cannot pause a push that is scheduled"):
        await h.use.act("wx1", push, PushAction.PAUSE)
    assert h.pushes.docs[push]["status"] == "finished"


async def test_another_accounts_push_is_not_found() -> None:
    h = Harness()
    push = (await h.use.create("wx1", name="p", segment_id=await h.segment(), variants=TEXT))["_id"]
    for call in (
        h.use.get("wx2", push),
        h.use.act("wx2", push, PushAction.CANCEL),
        h.use.deliveries("wx2", push, None, 5),
    ):
        with pytest.raises(PushNotFound, match=f"no push {push}"):
            await call
    assert [d["_id"] for d in await h.use.of_account("wx1")] == [push]
    assert await h.use.of_account("wx2") == []


async def test_a_click_is_counted_once_per_member_and_forged_links_refused() -> None:
    h = Harness()
    push = (await h.use.create("wx1", name="p", segment_id=await h.segment(), variants=TEXT))["_id"]
    token = sign_click(KEY, ClickLink(push, "A", "o1", "https://brand.example/a"))
    assert await h.use.click(token) == "https://brand.example/a"
    assert await h.use.click(token) == "https://brand.example/a"
    stats = h.pushes.docs[push]["stats"]
    assert stats["total"]["clicked"] == 1 and stats["variants"]["A"]["clicked"] == 1
    with pytest.raises(LinkForged):
        await h.use.click(sign_click(b"other", ClickLink(push, "A", "o1", "https://evil.example/")))


def _with_domains(h: Harness, per_account: dict[str, frozenset[str]] | None = None) -> Harness:
    """The harness's use cases with brand.example allowed service-wide (and ``per_account`` lists)."""
    h.use = PushUseCases(
        h.pushes,
        h.segments,
        PushDefaults(FrequencyCap(1, 3), None),
        click_key=KEY,
        clock=lambda: NOW,
        new_id=lambda: next(h.ids),
        click_domains=frozenset({"brand.example"}),
        account_click_domains=per_account,
    )
    return h


async def test_links_expire_and_lead_only_to_the_allowed_domains() -> None:
    h = _with_domains(Harness())
    segment = await h.segment()
    push = (await h.use.create("wx1", name="p", segment_id=segment, variants=TEXT))["_id"]
    expires = int(NOW.timestamp())
    fresh = sign_click(KEY, ClickLink(push, "A", "o1", "https://shop.brand.example/a", expires + 60))
    assert await h.use.click(fresh) == "https://shop.brand.example/a"
    for url, expires_at, why in [
        ("https://brand.example/a", expires - 1, "expired"),
        ("https://evil.example/", expires + 60, "allowed domain"),  # signed, yet not followed
        ("https://brand.example.evil.example/", expires + 60, "allowed domain"),
        ("https://evilbrand.example/", expires + 60, "allowed domain"),
    ]:
        with pytest.raises(LinkForged, match=why):
            await h.use.click(sign_click(KEY, ClickLink(push, "A", "o1", url, expires_at)))
    elsewhere = (Variant("A", 1, message=MessageContent("text", text="go https://evil.example/x now")),)
    with pytest.raises(PushInvalid, match="outside the account's link domains"):
        await h.use.create("wx1", name="p", segment_id=segment, variants=elsewhere)


async def test_an_account_s_own_link_domains_replace_the_service_wide_list() -> None:
    h = _with_domains(Harness(), {"wx1": frozenset({"mall.example"})})
    segment = await h.segment()
    to_brand = (Variant("A", 1, message=MessageContent("text", text="go https://brand.example/x now")),)
    with pytest.raises(PushInvalid, match="outside the account's link domains"):
        await h.use.create("wx1", name="p", segment_id=segment, variants=to_brand)
    to_mall = (Variant("A", 1, message=MessageContent("text", text="go https://shop.mall.example/x now")),)
    push = (await h.use.create("wx1", name="p", segment_id=segment, variants=to_mall))["_id"]
    expires = int(NOW.timestamp()) + 60
    assert await h.use.click(sign_click(KEY, ClickLink(push, "A", "o1", "https://mall.example/a", expires)))
    with pytest.raises(LinkForged, match="allowed domain"):  # signed for this push, yet another account's domain
        await h.use.click(sign_click(KEY, ClickLink(push, "A", "o1", "https://brand.example/a", expires)))
    with pytest.raises(LinkForged, match="no push"):
        await h.use.click(sign_click(KEY, ClickLink("gone", "A", "o1", "https://mall.example/a", expires)))
