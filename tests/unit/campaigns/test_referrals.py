from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.domain.referrals import (
    CampaignTexts,
    FollowFacts,
    JoinScene,
    ReferralRules,
    ReferralScene,
    Rejection,
    Tier,
    confirms_at,
    decide_credit,
    next_target,
    progress_text,
    render_message,
    should_revoke,
    tiers_to_grant,
)
from services.campaigns.service_layer.joining import campaign_in_scene

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TIERS = (Tier(3, "A"), Tier(10, "B"))
RULES = ReferralRules(
    starts_at=T0, ends_at=T0 + timedelta(days=30), running=True, tiers=TIERS, per_inviter_daily_cap=20
)
FACTS = FollowFacts(
    inviter="o_mom",
    invitee="o_friend",
    followed_at=T0 + timedelta(hours=1),
    invitee_is_new=True,
    invitee_already_invited=False,
    inviter_credits_today=0,
)


def test_a_new_follower_through_a_code_credits_the_inviter() -> None:
    assert decide_credit(RULES, FACTS) is None


@pytest.mark.parametrize(
    ("rules", "facts", "reason"),
    [
        (replace(RULES, running=False), FACTS, Rejection.CAMPAIGN_NOT_RUNNING),
        (RULES, replace(FACTS, followed_at=T0 - timedelta(seconds=1)), Rejection.CAMPAIGN_NOT_RUNNING),
        (RULES, replace(FACTS, followed_at=T0 + timedelta(days=30)), Rejection.CAMPAIGN_NOT_RUNNING),
        (RULES, replace(FACTS, invitee="o_mom"), Rejection.SELF_INVITE),
        (replace(RULES, blacklist=frozenset({"o_mom"})), FACTS, Rejection.INVITER_BLACKLISTED),
        (replace(RULES, blacklist=frozenset({"o_friend"})), FACTS, Rejection.INVITEE_BLACKLISTED),
        (RULES, replace(FACTS, invitee_already_invited=True), Rejection.ALREADY_INVITED),
        (RULES, replace(FACTS, invitee_is_new=False), Rejection.NOT_A_NEW_FOLLOWER),
        (RULES, replace(FACTS, inviter_credits_today=20), Rejection.DAILY_CAP_REACHED),
    ],
)
def test_each_rule_refuses_credit_with_its_reason(rules: ReferralRules, facts: FollowFacts, reason: Rejection) -> None:
    assert decide_credit(rules, facts) is reason


def test_re_followers_count_when_the_campaign_allows_it() -> None:
    rules = replace(RULES, first_time_followers_only=False, per_inviter_daily_cap=None)
    assert decide_credit(rules, replace(FACTS, invitee_is_new=False, inviter_credits_today=999)) is None


def test_quick_unfollows_revoke_late_ones_do_not() -> None:
    credited = T0 + timedelta(hours=1)
    assert should_revoke(RULES, credited, credited + timedelta(hours=47, minutes=59))
    assert not should_revoke(RULES, credited, credited + timedelta(hours=48))
    assert not should_revoke(replace(RULES, revoke_if_unfollowed_within=timedelta(0)), credited, credited)


def test_tiers_are_granted_once_each() -> None:
    assert tiers_to_grant(TIERS, 2, []) == []
    assert tiers_to_grant(TIERS, 3, []) == [Tier(3, "A")]
    assert tiers_to_grant(TIERS, 3, [3]) == []
    assert tiers_to_grant(TIERS, 12, [3]) == [Tier(10, "B")]
    assert tiers_to_grant(TIERS, 12, []) == list(TIERS)  # a burst of credits reaches both at once
    assert next_target(TIERS, 0) == 3 and next_target(TIERS, 3) == 10 and next_target(TIERS, 10) is None


def test_tiers_must_ascend() -> None:
    with pytest.raises(ValueError, match="ascending"):
        replace(RULES, tiers=(Tier(10, "B"), Tier(3, "A")))
    with pytest.raises(ValueError, match="ascending"):
        replace(RULES, tiers=(Tier(0, "A"),))


def test_scenes_round_trip_and_foreign_scenes_are_ignored() -> None:
    scene = ReferralScene("c7Hq2xY", "p0001abc")
    assert ReferralScene.decode(scene.encode()) == scene
    assert len(scene.encode()) <= 64
    for foreign in (None, "", "poster-launch", "r.only", "r.a.b.c", "r.中文.x"):
        assert ReferralScene.decode(foreign) is None
    longest = ReferralScene("c" * 32, "p" * 24).encode()  # a uuid4-hex campaign id fits
    assert len(longest) <= 64
    with pytest.raises(ValueError, match="scene"):
        ReferralScene("c" * 33, "p").encode()


def test_a_campaigns_own_code_is_told_apart_from_a_members_code() -> None:
    own = JoinScene("0123456789abcdef0123456789abcdef")
    assert JoinScene.decode(own.encode()) == own
    assert ReferralScene.decode(own.encode()) is None
    assert JoinScene.decode(ReferralScene("c1", "p1").encode()) is None
    assert campaign_in_scene(own.encode()) == (own.campaign_id, "campaign_qr")
    assert campaign_in_scene("r.c1.p1") == ("c1", "referral")
    assert campaign_in_scene("poster-launch") is None


def test_messages_fill_placeholders_and_keep_unknown_ones() -> None:
    assert render_message("已邀请 {count}/{target}", count=2, target=3) == "已邀请 2/3"
    assert render_message("恭喜 {nmae}", name="小雨") == "恭喜 {nmae}"


def test_credits_wait_for_the_window_only_under_verified_followers() -> None:
    credited = T0 + timedelta(hours=1)
    assert confirms_at(RULES, credited) is None  # a credit counts at once
    verified = replace(RULES, confirm_credits=True)
    assert confirms_at(verified, credited) == credited + timedelta(hours=48)
    assert confirms_at(replace(verified, revoke_if_unfollowed_within=timedelta(0)), credited) is None


def test_progress_counts_confirmed_credits_and_says_how_many_are_pending() -> None:
    texts, verified = CampaignTexts(), replace(RULES, confirm_credits=True)
    assert progress_text(texts, verified, confirmed=1, pending=0, target=3) == "已邀请 1/3，再邀请 2 位即可领取奖励。"
    pending = progress_text(texts, verified, confirmed=1, pending=2, target=3)
    assert pending == "已邀请 1/3，再邀请 2 位即可领取奖励。（另有 2 位好友待确认：关注满 48 小时后计入）"
    own = replace(texts, progress="有效 {count}/{target}，待确认 {pending}")
    assert progress_text(own, verified, confirmed=1, pending=2, target=3) == "有效 1/3，待确认 2"  # said once
