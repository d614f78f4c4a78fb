"""Wording compliance (诱导分享 / 诱导关注): a table of phrases, flagged and not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.domain.campaign import Campaign, Messages, RewardBasis
from services.campaigns.domain.compliance import (
    ComplianceRule,
    Severity,
    check_campaign,
    check_texts,
    flags_of,
)

SHARING, FOLLOWING = ComplianceRule.INDUCED_SHARING, ComplianceRule.INDUCED_FOLLOWING
BLOCK, WARN = Severity.BLOCK, Severity.WARN


@pytest.mark.parametrize(
    ("text", "phrase", "rule", "severity"),
    [
        ("分享到朋友圈即可领取优惠券", "分享到朋友圈即可领取", SHARING, BLOCK),
        ("转发朋友圈送大礼包", "转发朋友圈送", SHARING, BLOCK),
        ("免费领取：转发到朋友圈", "免费领取：转发到朋友圈", SHARING, BLOCK),
        ("集赞 38 个换咖啡一杯", "集赞", SHARING, BLOCK),
        ("点赞满20领取奖品", "点赞满20领取", SHARING, BLOCK),
        ("转发后领取红包", "转发后领取", SHARING, BLOCK),
        ("分享后即可获得抽奖机会", "分享后即可获得", SHARING, BLOCK),
        ("分享后才能查看答案", "分享后才能", SHARING, BLOCK),
        ("分享给好友领取福利", "分享给好友领取", SHARING, BLOCK),
        ("转发3个群即送会员", "转发3个群即送", SHARING, BLOCK),
        ("分享有礼", "分享有礼", SHARING, BLOCK),
        ("不转发无法领取奖励", "不转发无法", SHARING, BLOCK),
        ("不转不是中国人", "不转不是", SHARING, BLOCK),
        ("必须转发才算参与", "必须转发", SHARING, BLOCK),
        ("转发后一生平安", "转发后一生平安", SHARING, BLOCK),
        ("欢迎分享到朋友圈", "分享到朋友圈", SHARING, WARN),
        ("关注后领取新人礼", "关注后领取", FOLLOWING, BLOCK),
        ("关注即送 10 元券", "关注即送", FOLLOWING, BLOCK),
        ("关注领红包", "关注领", FOLLOWING, BLOCK),
        ("关注才能查看完整内容", "关注才能", FOLLOWING, BLOCK),
        ("必须关注公众号", "必须关注", FOLLOWING, BLOCK),
        ("请先关注公众号，再回复“活动”", "请先关注", FOLLOWING, WARN),
    ],
)
def test_forbidden_wording_is_flagged(text: str, phrase: str, rule: ComplianceRule, severity: Severity) -> None:
    flags = check_texts({"name": text})
    assert [(f.field, f.phrase, f.rule, f.severity) for f in flags] == [("name", phrase, rule, severity)]
    assert flags[0].explanation_zh and flags[0].explanation_en and flags[0].suggestion_zh and flags[0].suggestion_en


@pytest.mark.parametrize(
    "text",
    [
        # The referral mechanism itself: someone else follows, the inviter is rewarded for it.
        "邀请好友关注",
        "邀请 3 位好友关注即可领取奖励",
        "再邀请 {remaining} 位好友关注，即可领取优惠券",
        "好友关注后你将获得 1 次进度",
        # Sharing without a reward or condition tied to it.
        "把下方专属海报分享给好友，邀请 {target} 位好友关注即可领取奖励。",
        "欢迎把海报分享给感兴趣的朋友",
        "已邀请 {count}/{target}，再邀请 {remaining} 位即可领取奖励。",
        "恭喜！已成功邀请 {count} 位好友，奖励券码：{code}",
        "新客邀请活动",
    ],
)
def test_the_referral_mechanism_and_plain_sharing_are_not_flagged(text: str) -> None:
    assert check_texts({"messages.welcome": text}) == []


def test_the_default_texts_pass_and_a_shared_screenshot_reward_is_a_warning() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    campaign = Campaign.create(appid="wx1", name="新客邀请", starts_at=now, ends_at=now + timedelta(days=7), now=now)
    assert flags_of(campaign) == []
    share = check_campaign(None, {}, reward_basis=RewardBasis.SHARE_SCREENSHOT)
    assert [(f.field, f.rule, f.severity) for f in share] == [("reward_basis", SHARING, WARN)]


def test_every_text_is_checked_and_flags_name_their_field() -> None:
    messages = dict.fromkeys(Messages.PLACEHOLDERS, "") | {"tier_reached": "转发朋友圈再送一张券：{code}"}
    flags = check_campaign("关注即送好礼", messages | {"not_a_message": "分享有礼"})
    assert [(f.field, f.severity) for f in flags] == [("name", BLOCK), ("messages.tier_reached", BLOCK)]
