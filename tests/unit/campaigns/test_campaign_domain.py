"""The campaign aggregate's rules: validation, lifecycle and what each status lets an operator change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.campaigns.domain.campaign import (
    Campaign,
    CampaignChanges,
    CampaignInvalid,
    CampaignStatus,
    EditNotAllowed,
    IllegalTransition,
    InviteTier,
    JoinMethods,
    Messages,
    PosterTemplate,
    QrBox,
    RewardBasis,
    Rules,
    TextSlot,
    placeholders,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TEMPLATE = PosterTemplate("img1", 750, 1334, QrBox(500, 1100, 200), (TextSlot("nickname", 40, 40, 32, "#333333"),))
TIERS = (InviteTier(3, "A"), InviteTier(10, "B"))


def make(**overrides: Any) -> Campaign:
    values: dict[str, Any] = {
        "appid": "wx1",
        "name": "新客邀请",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=14),
        "now": NOW,
    }
    return Campaign.create(**(values | overrides))


def ready(**overrides: Any) -> Campaign:
    return make(template=TEMPLATE, tiers=TIERS, **overrides)


def status_of(campaign: Campaign) -> CampaignStatus:
    """Read afresh (a direct ``campaign.status`` check narrows its type for the rest of a test)."""
    return campaign.status


def field_of(excinfo: pytest.ExceptionInfo[CampaignInvalid]) -> str:
    return excinfo.value.field


# -- creation and validation ---------------------------------------------------------------------------


def test_a_new_campaign_is_a_valid_draft_with_safe_defaults() -> None:
    campaign = make()
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.reward_basis is RewardBasis.VERIFIED_FOLLOWERS
    assert campaign.rules.first_time_followers_only
    assert campaign.rules.revoke_if_unfollowed_within_hours == 48
    assert not Rules.allow_self_invite and Rules.one_inviter_per_invitee
    assert campaign.join == JoinMethods(follow_qr=True)
    assert campaign.id and campaign.version == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"ends_at": NOW}, "ends_at"),
        ({"ends_at": NOW - timedelta(days=1)}, "ends_at"),
        ({"starts_at": NOW - timedelta(days=30), "ends_at": NOW - timedelta(days=1)}, "ends_at"),
        ({"starts_at": datetime(2026, 11, 23, 8, 0)}, "starts_at"),
        ({"join": JoinMethods(follow_qr=False)}, "join"),
        ({"join": JoinMethods(keywords=("邀请", "邀请"))}, "join.keywords"),
        ({"join": JoinMethods(menu_keys=(" key",))}, "join.menu_keys.0"),
        ({"rules": Rules(revoke_if_unfollowed_within_hours=-1)}, "rules.revoke_if_unfollowed_within_hours"),
        ({"rules": Rules(per_inviter_daily_cap=0)}, "rules.per_inviter_daily_cap"),
        ({"rules": Rules(blacklist=frozenset({" "}))}, "rules.blacklist"),
    ],
)
def test_invalid_values_name_their_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(CampaignInvalid) as excinfo:
        make(**overrides)
    assert field_of(excinfo) == field


def test_dates_in_any_time_zone_compare_as_instants() -> None:
    shanghai = timezone(timedelta(hours=8))
    campaign = make(starts_at=NOW.astimezone(shanghai), ends_at=(NOW + timedelta(hours=1)).astimezone(shanghai))
    assert campaign.ends_at - campaign.starts_at == timedelta(hours=1)


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ((InviteTier(3, "A"), InviteTier(3, "B")), "tiers.1.count"),
        ((InviteTier(10, "A"), InviteTier(3, "B")), "tiers.1.count"),
        ((InviteTier(0, "A"),), "tiers.0.count"),
        ((InviteTier(3, "A b"),), "tiers.0.pool"),
        (tuple(InviteTier(n, "A") for n in range(1, 12)), "tiers"),
    ],
)
def test_tiers_must_ascend_strictly_from_one(tiers: tuple[InviteTier, ...], field: str) -> None:
    with pytest.raises(CampaignInvalid) as excinfo:
        make(tiers=tiers)
    assert field_of(excinfo) == field


def test_tiers_give_targets_and_tier_reached() -> None:
    campaign = make(tiers=TIERS)
    assert campaign.target == 3
    assert campaign.next_tier(0) == InviteTier(3, "A")
    assert campaign.next_tier(3) == InviteTier(10, "B")
    assert campaign.next_tier(10) is None
    assert campaign.tier_reached_at(10) == InviteTier(10, "B")
    assert campaign.tier_reached_at(4) is None


# -- template ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "field"),
    [
        (replace(TEMPLATE, qr=QrBox(600, 1100, 200)), "template.qr"),
        (replace(TEMPLATE, qr=QrBox(500, 1200, 200)), "template.qr"),
        (replace(TEMPLATE, qr=QrBox(-1, 0, 200)), "template.qr"),
        (replace(TEMPLATE, qr=QrBox(0, 0, 40)), "template.qr.size"),
        (replace(TEMPLATE, text_slots=(TextSlot("nickname", 750, 10, 20),)), "template.text_slots.0"),
        (replace(TEMPLATE, text_slots=(TextSlot("nickname", 10, 1320, 20),)), "template.text_slots.0"),
        (replace(TEMPLATE, text_slots=(TextSlot("avatar", 10, 10, 20),)), "template.text_slots.0.name"),
        (replace(TEMPLATE, text_slots=(TextSlot("nickname", 10, 10, 20, "red"),)), "template.text_slots.0.colour"),
        (replace(TEMPLATE, text_slots=(TextSlot("nickname", 10, 10, 4),)), "template.text_slots.0.font_size"),
        (
            replace(TEMPLATE, text_slots=(TextSlot("nickname", 1, 1, 20), TextSlot("nickname", 1, 60, 20))),
            "template.text_slots",
        ),
    ],
)
def test_qr_box_and_text_slots_must_lie_inside_the_image(template: PosterTemplate, field: str) -> None:
    with pytest.raises(CampaignInvalid) as excinfo:
        make(template=template)
    assert field_of(excinfo) == field


def test_a_qr_box_touching_the_edges_fits() -> None:
    make(template=replace(TEMPLATE, qr=QrBox(550, 1134, 200)))


# -- messages ------------------------------------------------------------------------------------------


def test_placeholders_are_parsed_and_filled() -> None:
    messages = Messages(progress="已邀请 {count}/{target}")
    messages.validate()
    assert placeholders("已邀请 {count}/{target} {{字面}}") == {"count", "target"}
    assert messages.render("progress", count=2, target=3) == "已邀请 2/3"


@pytest.mark.parametrize(
    ("name", "text", "hint"),
    [
        ("progress", "已邀请 {count}/{goal}", "unknown placeholder"),
        ("progress", "已邀请 {}/{target} {count}", "must be a name"),
        ("progress", "已邀请 {0} {count}", "must be a name"),
        ("progress", "已邀请 {count:>3}", "no format"),
        ("progress", "已邀请 {count!r}", "no format"),
        ("progress", "已邀请 {count", "unbalanced"),
        ("progress", "已邀请 {user.name} {count}", "must be a name"),
        ("progress", "再接再厉", "must contain {count}"),
        ("welcome", "欢迎 {code}", "unknown placeholder"),
        ("ended", " ", "blank"),
        ("welcome", "长" * 601, "at most"),
    ],
)
def test_bad_placeholders_are_refused(name: str, text: str, hint: str) -> None:
    with pytest.raises(CampaignInvalid) as excinfo:
        make(messages=Messages(**{name: text}))
    assert field_of(excinfo) == f"messages.{name}"
    assert hint in excinfo.value.message


def test_the_default_texts_are_valid() -> None:
    Messages().validate()


# -- reward basis --------------------------------------------------------------------------------------


def test_rewarding_screenshots_needs_the_screenshot_task() -> None:
    with pytest.raises(CampaignInvalid) as excinfo:
        make(reward_basis=RewardBasis.SHARE_SCREENSHOT)
    assert field_of(excinfo) == "reward_basis"
    campaign = make(reward_basis=RewardBasis.SHARE_SCREENSHOT, share_screenshot_task=True, share_reward_pool="S")
    assert campaign.share_screenshot_task
    make(share_screenshot_task=True, share_reward_pool="S")  # the task alone, rewarding verified followers, is fine


def test_the_reward_basis_docstring_explains_the_platform_rule() -> None:
    assert "诱导分享" in (RewardBasis.__doc__ or "")


# -- lifecycle -----------------------------------------------------------------------------------------


def test_the_full_lifecycle() -> None:
    campaign = ready()
    later = NOW + timedelta(hours=1)
    campaign.activate(later)
    assert status_of(campaign) is CampaignStatus.ACTIVE and campaign.updated_at == later
    assert campaign.is_running(later)
    campaign.pause(later)
    assert status_of(campaign) is CampaignStatus.PAUSED and not campaign.is_running(later)
    campaign.activate(later)
    assert status_of(campaign) is CampaignStatus.ACTIVE
    campaign.end(later)
    assert status_of(campaign) is CampaignStatus.ENDED
    for move in (campaign.activate, campaign.pause, campaign.end):
        with pytest.raises(IllegalTransition):
            move(later)


def test_activation_needs_a_template_tiers_and_time_left() -> None:
    with pytest.raises(IllegalTransition, match="poster template"):
        make(tiers=TIERS).activate(NOW)
    with pytest.raises(IllegalTransition, match="tier"):
        make(template=TEMPLATE).activate(NOW)
    with pytest.raises(IllegalTransition, match="ended at"):
        ready().activate(NOW + timedelta(days=14))


@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.PAUSED])
def test_only_an_active_campaign_pauses(status: CampaignStatus) -> None:
    campaign = ready()
    campaign.status = status
    with pytest.raises(IllegalTransition, match="only an active one"):
        campaign.pause(NOW)


def test_a_draft_cannot_be_ended() -> None:
    with pytest.raises(IllegalTransition):
        ready().end(NOW)


def test_a_scheduled_campaign_is_not_running_before_it_starts() -> None:
    campaign = ready(starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2))
    campaign.activate(NOW)
    assert not campaign.is_running(NOW)
    assert campaign.is_running(NOW + timedelta(days=1))
    assert not campaign.is_running(NOW + timedelta(days=2))


# -- edits ---------------------------------------------------------------------------------------------


def test_a_draft_takes_any_valid_change() -> None:
    campaign = make()
    later = NOW + timedelta(minutes=5)
    campaign.edit(CampaignChanges(tiers=TIERS, template=TEMPLATE, rules=Rules(per_inviter_daily_cap=20)), later)
    assert campaign.tiers == TIERS and campaign.template == TEMPLATE
    assert campaign.rules.per_inviter_daily_cap == 20
    assert campaign.updated_at == later


def test_an_invalid_edit_changes_nothing() -> None:
    campaign = make(tiers=TIERS)
    with pytest.raises(CampaignInvalid):
        campaign.edit(CampaignChanges(name="新名字", tiers=(InviteTier(5, "A"), InviteTier(2, "B"))), NOW)
    assert campaign.name == "新客邀请" and campaign.tiers == TIERS


def test_an_active_campaign_takes_name_texts_later_end_and_blacklist_additions() -> None:
    campaign = ready(rules=Rules(blacklist=frozenset({"o-cheat"})))
    campaign.activate(NOW)
    campaign.edit(
        CampaignChanges(
            name="新客邀请（加长版）",
            messages=Messages(progress="进度 {count}/{target}"),
            ends_at=NOW + timedelta(days=21),
            rules=Rules(blacklist=frozenset({"o-cheat", "o-bot"})),
            tiers=TIERS,  # unchanged values are not changes
        ),
        NOW,
    )
    assert campaign.name == "新客邀请（加长版）"
    assert campaign.ends_at == NOW + timedelta(days=21)
    assert campaign.rules.blacklist == {"o-cheat", "o-bot"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (CampaignChanges(tiers=(InviteTier(5, "A"),)), "tiers"),
        (CampaignChanges(template=replace(TEMPLATE, image_id="img2")), "template"),
        (CampaignChanges(join=JoinMethods(keywords=("邀请",))), "join"),
        (CampaignChanges(starts_at=NOW - timedelta(days=1)), "starts_at"),
        (CampaignChanges(ends_at=NOW + timedelta(days=7)), "extended"),
        (CampaignChanges(rules=Rules(blacklist=frozenset())), "blacklist additions"),
        (CampaignChanges(rules=Rules(per_inviter_daily_cap=5)), "blacklist additions"),
        (CampaignChanges(reward_basis=RewardBasis.SHARE_SCREENSHOT, share_screenshot_task=True), "reward_basis"),
    ],
)
def test_an_active_campaign_refuses_other_changes(changes: CampaignChanges, reason: str) -> None:
    campaign = ready(rules=Rules(blacklist=frozenset({"o-cheat"})))
    campaign.activate(NOW)
    with pytest.raises(EditNotAllowed, match=reason):
        campaign.edit(changes, NOW)


def test_a_paused_campaign_takes_any_change_but_not_an_end_in_the_past() -> None:
    campaign = ready()
    campaign.activate(NOW)
    campaign.pause(NOW)
    campaign.edit(CampaignChanges(tiers=(InviteTier(5, "A"),), ends_at=NOW + timedelta(days=3)), NOW)
    assert campaign.tiers == (InviteTier(5, "A"),)
    with pytest.raises(CampaignInvalid) as excinfo:
        campaign.edit(CampaignChanges(ends_at=NOW + timedelta(hours=1)), NOW + timedelta(hours=2))
    assert field_of(excinfo) == "ends_at"


def test_an_ended_campaign_takes_no_change() -> None:
    campaign = ready()
    campaign.activate(NOW)
    campaign.end(NOW)
    with pytest.raises(EditNotAllowed):
        campaign.edit(CampaignChanges(name="again"), NOW)


def test_join_methods_match_keywords_and_menu_keys() -> None:
    join = JoinMethods(follow_qr=False, keywords=("邀请有礼",), menu_keys=("CAMPAIGN_JOIN",))
    join.validate()
    assert join.matches_keyword(" 邀请有礼 ")
    assert not join.matches_keyword("邀请")
    assert join.matches_menu_key("CAMPAIGN_JOIN")


def test_the_share_task_needs_a_reward_pool() -> None:
    with pytest.raises(CampaignInvalid) as caught:
        make(share_screenshot_task=True, reward_basis=RewardBasis.SHARE_SCREENSHOT)
    assert caught.value.field == "share_reward_pool"
    # Beside verified followers the task may pay nothing: screenshots are checked and thanked.
    unpaid = make(share_screenshot_task=True)
    assert (unpaid.reward_basis, unpaid.share_reward_pool) == (RewardBasis.VERIFIED_FOLLOWERS, None)
    with pytest.raises(CampaignInvalid) as caught:
        make(share_screenshot_task=True, share_reward_pool="no spaces")
    assert caught.value.field == "share_reward_pool"
