"""Wording WeChat's operating rules forbid in what a campaign tells members (诱导分享, 诱导关注). Pure.

What the rules say (sources read 2026-12; the rules are WeChat's, these are summaries):

- 《微信公众平台运营规范》3.3.1 诱导分享: forbids forcing or inducing users, through links or the account's
  messages, to share to Moments (朋友圈); the inducement includes physical and virtual rewards (points,
  information). Cited examples: posts or auto-replies running "share to Moments" activities, and
  activities inducing likes (集赞/点赞).
- The 2014-12-30 announcement (整顿诱导分享及诱导关注行为): 诱导分享 is content that shows its answer only
  after sharing to Moments; 诱导关注 is content shown only after following the account. Penalties: the
  account blocked for 30 days, links intercepted, the followers gained removed; a second time, for good.
- 2015-07 enforcement against "关注即可领取红包", "分享还能获得更大的红包": followers removed, accounts blocked.
- The mini-program rules spell out the same three shapes for sharing and following alike: forcing (only
  after sharing/following can one continue or see something), rewarding (a gift, red packet, points or
  a draw for sharing/following), and coercing with exaggerated words ("不转不是中国人", "转发后一生平安").

Where the line is drawn here: the platform forbids rewarding or forcing *the act* of sharing to Moments
and *the reader's own* follow. A referral campaign rewards an inviter for an outcome the platform can
verify: friends who followed through their code and stayed (``reward_basis=verified_followers``). So
"邀请好友关注" / "邀请 3 位好友关注即可领取奖励" (someone else follows, the inviter is rewarded for
it) is not flagged, and "分享给好友" without a reward tied to the sharing is not either. A reward or a
condition tied to sharing, liking or the reader's own follow is ``block``: the account risks losing
the followers the campaign gains. Softer signals (asking to share to Moments without a reward,
"先关注") are ``warn``: legitimate in context, worth a second look.

The check is a set of patterns over each text, clause by clause; it will miss rewordings and cannot
judge pictures. It is an aid for the operator, not a guarantee.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.campaigns.domain.campaign import Campaign, Messages, RewardBasis

__all__ = [
    "ComplianceFlag",
    "ComplianceRule",
    "Severity",
    "campaign_texts",
    "check_campaign",
    "check_texts",
    "flags_of",
]


class ComplianceRule(StrEnum):
    INDUCED_SHARING = "induced_sharing"
    INDUCED_FOLLOWING = "induced_following"


class Severity(StrEnum):
    #: Fix before launching: the wording itself breaks the rule.
    BLOCK = "block"
    #: Look again: allowed in some contexts, a risk in others.
    WARN = "warn"


@dataclass(frozen=True)
class ComplianceFlag:
    field: str
    phrase: str
    rule: ComplianceRule
    severity: Severity
    explanation_zh: str
    explanation_en: str
    suggestion_zh: str
    suggestion_en: str


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    rule: ComplianceRule
    severity: Severity
    explanation_zh: str
    explanation_en: str
    suggestion_zh: str
    suggestion_en: str
    #: A match preceded (within a few characters) by this is someone else's follow: not the reader's.
    unless_before: re.Pattern[str] | None = None


#: Characters a pattern's gap may span: within one clause (no comma, full stop or line break).
_GAP = r"[^，,。.！!？?；;\n]"
_SHARE = r"(?:分享|转发|转)"
_MOMENTS = r"(?:朋友圈)"
_REWARD = r"(?:领取|领|获得|获取|得到|赢取|赢|送|抽奖|抽|兑换|换取|奖励|红包|免费|礼品|有礼)"
_SOMEONE_ELSE = re.compile(r"(?:邀请|好友|朋友|亲友|位|名|人|TA|他|她)\s*$")

_SHARE_ALTERNATIVE_ZH = "把奖励改为对可核实结果的奖励，例如：“邀请 3 位好友通过你的专属海报关注，即可领取奖励”。"
_SHARE_ALTERNATIVE_EN = (
    "Reward a verifiable outcome instead, e.g. “invite 3 friends to follow through your poster to get the reward”."
)

_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern(
        re.compile(
            rf"{_SHARE}(?:到|至|在)?{_MOMENTS}{_GAP}{{0,10}}?{_REWARD}|{_REWARD}{_GAP}{{0,10}}?{_SHARE}(?:到|至)?{_MOMENTS}"
        ),
        ComplianceRule.INDUCED_SHARING,
        Severity.BLOCK,
        "以奖励诱导用户分享到朋友圈，违反《微信公众平台运营规范》诱导分享条款，可能被封号并删除活动带来的粉丝。",
        "Rewarding a share to Moments is induced sharing under WeChat's operating rules: the account can be "
        "blocked and the followers gained removed.",
        _SHARE_ALTERNATIVE_ZH,
        _SHARE_ALTERNATIVE_EN,
    ),
    _Pattern(
        re.compile(rf"集赞|集齐{_GAP}{{0,4}}?赞|点赞{_GAP}{{0,6}}?{_REWARD}|{_REWARD}{_GAP}{{0,6}}?点赞"),
        ComplianceRule.INDUCED_SHARING,
        Severity.BLOCK,
        "集赞、点赞换奖励属于平台明确列举的诱导分享行为。",
        "Collecting likes for a reward (集赞) is a case of induced sharing the platform names explicitly.",
        _SHARE_ALTERNATIVE_ZH,
        _SHARE_ALTERNATIVE_EN,
    ),
    _Pattern(
        re.compile(
            rf"{_SHARE}(?:{_GAP}{{0,6}}?)?(?:后|之后|完成后|成功后){_GAP}{{0,8}}?(?:{_REWARD}|解锁|查看|可见|才能|才可)"
        ),
        ComplianceRule.INDUCED_SHARING,
        Severity.BLOCK,
        "“分享/转发后即可领取/查看”把奖励或内容与分享行为挂钩，属于诱导分享。",
        "“Get it / see it after sharing” ties a reward or content to the act of sharing: induced sharing.",
        _SHARE_ALTERNATIVE_ZH,
        _SHARE_ALTERNATIVE_EN,
    ),
    _Pattern(
        re.compile(
            rf"{_SHARE}给?(?:\d+|[一二三四五六七八九十两几]+)?个?(?:好友|朋友|群|微信群){_GAP}{{0,4}}?"
            rf"(?:即可|就能|就可|便可|可|即)?{_REWARD}"
        ),
        ComplianceRule.INDUCED_SHARING,
        Severity.BLOCK,
        "“分享给好友/转发到群即可领取”以奖励诱导分享，属于诱导分享。",
        "“Share with friends / to groups to get it” rewards the act of sharing: induced sharing.",
        _SHARE_ALTERNATIVE_ZH,
        _SHARE_ALTERNATIVE_EN,
    ),
    _Pattern(
        re.compile(rf"{_SHARE}(?:即送|就送|即得|即领|即可领|有礼|领|得)"),
        ComplianceRule.INDUCED_SHARING,
        Severity.BLOCK,
        "“转发即送/分享有礼”直接奖励分享行为，属于诱导分享。",
        "“Share and get a gift” rewards the act of sharing directly: induced sharing.",
        _SHARE_ALTERNATIVE_ZH,
        _SHARE_ALTERNATIVE_EN,
    ),
    _Pattern(
        re.compile(
            rf"(?:不|没有?){_SHARE}{_GAP}{{0,6}}?(?:无法|不能|不可|不予|没有|不是|就不|将不)"
            rf"|(?:必须|务必|一定要|需要|需)先?{_SHARE}"
            rf"|{_SHARE}{_GAP}{{0,4}}?(?:一生平安|好运|发财|保平安)"
        ),
        ComplianceRule.INDUCED_SHARING,
        Severity.BLOCK,
        "强制分享（不转发就不能…、必须转发）或用夸张言语胁迫、煽动分享，属于诱导分享。",
        "Forcing a share (“no share, no …”, “you must share”) or pressing for it with exaggerated words is induced "
        "sharing.",
        "删除强制或胁迫的表述，例如改为：“欢迎把海报分享给感兴趣的朋友”。",
        "Drop the pressure, e.g. “feel free to share the poster with friends who may like it”.",
    ),
    _Pattern(
        re.compile(rf"{_SHARE}(?:到|至)?{_MOMENTS}"),
        ComplianceRule.INDUCED_SHARING,
        Severity.WARN,
        "邀请用户分享到朋友圈本身不违规，但不得与奖励或解锁内容挂钩；请确认整个活动没有这样做。",
        "Asking members to share to Moments is allowed on its own, never together with a reward or unlocked "
        "content; make sure the campaign does neither.",
        "如无必要，改为“分享给好友”，并确保奖励只与好友的有效关注挂钩。",
        "Prefer “share with friends”, and tie rewards only to friends' verified follows.",
    ),
    _Pattern(
        re.compile(
            rf"关注(?:后|之后|成功后|公众号后)?{_GAP}{{0,3}}?(?:即送|就送|即得|即领|即可|就可|便可|有礼|{_REWARD})"
        ),
        ComplianceRule.INDUCED_FOLLOWING,
        Severity.BLOCK,
        "以奖励诱导读者本人关注公众号（关注即送、关注后领取）属于诱导关注，平台会删除由此增加的粉丝。",
        "Rewarding the reader's own follow (“follow and get a gift”) is induced following; the platform removes "
        "the followers gained.",
        "奖励邀请人而非关注者本人，例如：“邀请好友关注，达到 3 位即可领取奖励”。",
        "Reward the inviter, not the follower: e.g. “invite friends to follow; at 3 you get the reward”.",
        unless_before=_SOMEONE_ELSE,
    ),
    _Pattern(
        re.compile(rf"关注(?:后|之后)?{_GAP}{{0,2}}?才(?:能|可|会)|(?:必须|务必|一定要)(?:先)?关注"),
        ComplianceRule.INDUCED_FOLLOWING,
        Severity.BLOCK,
        "“关注后才能查看/参加”以内容或功能强制关注，属于诱导关注。",
        "“Only after following can you see / take part” forces a follow: induced following.",
        "不要以关注作为查看内容的条件；可改为“关注公众号，第一时间获取活动进度”。",
        "Do not make content depend on following; e.g. “follow the account to get progress updates”.",
        unless_before=_SOMEONE_ELSE,
    ),
    _Pattern(
        re.compile(r"(?:请|需要?)先关注"),
        ComplianceRule.INDUCED_FOLLOWING,
        Severity.WARN,
        "“先关注”可以是参与方式的说明，但若与奖励或内容挂钩即构成诱导关注；请确认上下文。",
        "“Follow first” can describe how to take part, but tied to a reward or content it is induced following; "
        "check the context.",
        "说明参与方式即可，例如：“关注公众号后回复‘活动’参与”，且不要把奖励给关注者本人。",
        "Describe how to join, e.g. “reply ‘活动’ to the account to join”, and do not reward the follower.",
        unless_before=_SOMEONE_ELSE,
    ),
)


def check_texts(texts: Mapping[str, str]) -> list[ComplianceFlag]:
    """Every flag in ``texts`` (field name -> text), in field order then position. A stretch of text
    caught by a ``block`` pattern is not flagged again by a ``warn`` one."""
    flags: list[ComplianceFlag] = []
    for field, text in texts.items():
        taken: list[tuple[int, int]] = []
        found: list[tuple[int, ComplianceFlag]] = []
        for pattern in sorted(_PATTERNS, key=lambda p: p.severity is Severity.WARN):
            for match in pattern.regex.finditer(text):
                start, end = match.span()
                if pattern.unless_before is not None and pattern.unless_before.search(text[max(0, start - 8) : start]):
                    continue
                if any(start < taken_end and taken_start < end for taken_start, taken_end in taken):
                    continue
                taken.append((start, end))
                found.append((start, _flag(field, match.group(0), pattern)))
        flags += [flag for _, flag in sorted(found, key=lambda item: item[0])]
    return flags


def _flag(field: str, phrase: str, pattern: _Pattern) -> ComplianceFlag:
    return ComplianceFlag(
        field=field,
        phrase=phrase,
        rule=pattern.rule,
        severity=pattern.severity,
        explanation_zh=pattern.explanation_zh,
        explanation_en=pattern.explanation_en,
        suggestion_zh=pattern.suggestion_zh,
        suggestion_en=pattern.suggestion_en,
    )


def campaign_texts(name: str | None, messages: Mapping[str, str]) -> dict[str, str]:
    """The operator-written texts members read, by field: the name (it is on the poster) and every message."""
    texts = {} if name is None else {"name": name}
    texts |= {f"messages.{key}": text for key, text in messages.items() if key in Messages.PLACEHOLDERS}
    return texts


def check_campaign(
    name: str | None,
    messages: Mapping[str, str],
    *,
    reward_basis: RewardBasis | None = None,
    share_screenshot_task: bool | None = None,
) -> list[ComplianceFlag]:
    """The texts' flags, and one for a reward that depends on a shared screenshot: that design rewards
    the act of sharing whatever the wording (a warning: the operator may accept the risk knowingly)."""
    flags = check_texts(campaign_texts(name, messages))
    if reward_basis is RewardBasis.SHARE_SCREENSHOT or share_screenshot_task:
        field = "reward_basis" if reward_basis is RewardBasis.SHARE_SCREENSHOT else "share_screenshot_task"
        flags.append(
            ComplianceFlag(
                field=field,
                phrase=str(reward_basis) if field == "reward_basis" else "share_screenshot_task",
                rule=ComplianceRule.INDUCED_SHARING,
                severity=Severity.WARN,
                explanation_zh="奖励朋友圈分享截图本身就是以奖励诱导分享，无论文案如何措辞。",
                explanation_en="Rewarding a screenshot of a Moments share rewards the act of sharing, whatever the "
                "wording says.",
                suggestion_zh="使用默认的 verified_followers：只奖励通过专属海报关注且未取关的好友。",
                suggestion_en="Use the default verified_followers basis: reward only friends who followed through "
                "the poster and stayed.",
            )
        )
    return flags


def flags_of(campaign: Campaign) -> list[ComplianceFlag]:
    """A saved campaign's flags."""
    messages = {key: getattr(campaign.messages, key) for key in Messages.PLACEHOLDERS}
    return check_campaign(
        campaign.name,
        messages,
        reward_basis=campaign.reward_basis,
        share_screenshot_task=campaign.share_screenshot_task,
    )
