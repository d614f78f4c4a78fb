"""Who of a segment a push would reach, step by step, and what WeChat's refusal codes mean.

The steps follow :func:`~services.segments.domain.pushes.decide` in its own order, so a breakdown is
the dispatcher's decision counted, never a second copy of its rules: each member's decision falls into
exactly one step (:func:`step_of`), and the rule texts say, in Chinese and English, why a step stops
members.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.segments.domain.pushes import (
    INTERACTION_WINDOW,
    MASS_MONTHLY,
    Channel,
    Decision,
    FrequencyCap,
    SkipReason,
    Variant,
)

__all__ = ["ERRCODES", "STEPS", "Text", "errcode_meaning", "rule_text", "step_of"]

#: The breakdown's steps, in the order ``decide`` applies its rules. ``template_fallback`` members still
#: receive (a template or subscription message instead of the customer-service message).
STEPS = (
    "in_segment",
    "unknown_member",
    "not_following",
    "no_consent",
    "capped",
    "mass_budget",
    "outside_window",
    "no_subscription_consent",
    "template_fallback",
    "will_receive",
)

_STEP_OF_REASON = {
    SkipReason.UNKNOWN_MEMBER: "unknown_member",
    SkipReason.UNFOLLOWED: "not_following",
    SkipReason.NO_CONSENT: "no_consent",
    SkipReason.FREQUENCY_CAP: "capped",
    SkipReason.MASS_BUDGET: "mass_budget",
    SkipReason.OUTSIDE_WINDOW: "outside_window",
    SkipReason.NO_SUBSCRIPTION_CONSENT: "no_subscription_consent",
}


@dataclass(frozen=True)
class Text:
    zh: str
    en: str


def step_of(decision: Decision, variant: Variant) -> str:
    """The step a member's decision belongs to: the skip's step, ``template_fallback`` when a variant
    with a customer-service message goes out as a template or subscription message (the window is
    closed), else ``will_receive``."""
    if decision.reason is not None:
        return _STEP_OF_REASON[decision.reason]
    if variant.message is not None and decision.channel in (Channel.TEMPLATE, Channel.SUBSCRIPTION):
        return "template_fallback"
    return "will_receive"


def rule_text(step: str, cap: FrequencyCap) -> Text:
    """Why ``step`` stops (or redirects) members, for the operator."""
    hours = int(INTERACTION_WINDOW.total_seconds() // 3600)
    texts = {
        "in_segment": Text("分群当前的会员数", "members the segment selects now"),
        "unknown_member": Text("没有会员档案的成员不发送", "members without a profile are not sent to"),
        "not_following": Text("只发给仍关注公众号的会员", "only members who still follow the account"),
        "no_consent": Text("只发给同意接收营销消息的会员", "only members who consented to marketing messages"),
        "capped": Text(
            f"每位会员每天最多 {cap.per_day} 条、每 7 天最多 {cap.per_week} 条推送（跨推送计算）",
            f"at most {cap.per_day} push(es) per member per day and {cap.per_week} per 7 days, across pushes",
        ),
        "mass_budget": Text(
            f"群发每位会员每月最多 {MASS_MONTHLY} 条",
            f"a mass send reaches a member at most {MASS_MONTHLY} times a month",
        ),
        "outside_window": Text(
            f"客服消息只能在会员最后一次互动后 {hours} 小时内发送；此变体没有模板或订阅消息可替代",
            f"customer-service messages only within {hours} hours of the member's last interaction; "
            "this variant has no template or subscription message to fall back on",
        ),
        "no_subscription_consent": Text(
            "订阅消息只发给对该模板有未用订阅（一次性订阅每次发送用掉一次）的会员",
            "subscription messages only go to members with an unused consent to the template "
            "(each one-time consent is used by one message)",
        ),
        "template_fallback": Text(
            f"超过 {hours} 小时互动窗口的会员改发模板消息（或订阅消息）；模板消息只能用于服务通知",
            f"members outside the {hours}-hour window get the template (or subscription) message instead; "
            "template messages are for service notices only",
        ),
        "will_receive": Text("预计收到推送的会员", "members expected to receive the push"),
    }
    return texts[step]


#: What the platform's common refusal codes mean (our own codes too: a send cut off by a crash, a
#: mass send's errors).
ERRCODES: Mapping[str, Text] = {
    "45015": Text(
        "回复时间超过限制：会员 48 小时内未互动，客服消息无法送达", "the 48-hour interaction window has closed"
    ),
    "45047": Text("客服消息下行条数超过上限", "too many customer-service messages since the member's last interaction"),
    "43004": Text("接收者未关注公众号", "the member does not follow the account"),
    "43101": Text("用户拒绝接收此消息（未订阅或订阅已用完）", "the member has not subscribed to this message"),
    "40003": Text("不合法的 OpenID（不是此公众号的会员）", "invalid openid (not a member of this account)"),
    "45009": Text("接口调用超过每日限额", "the API's daily quota is used up"),
    "interrupted": Text("发送中断（进程重启），不会重发", "cut off by a restart while sending; not resent"),
    "-2": Text(
        "无法连接微信接口（网络或 access_token），重试后仍失败", "the WeChat API could not be reached, after retries"
    ),
    "-3": Text(
        "发送前被本系统拒绝（此渠道无法承载该内容）", "refused before sending: the channel cannot carry the content"
    ),
    "mass_error": Text("群发任务报告的失败", "failures the mass-send job reported"),
}


def errcode_meaning(code: str | int) -> Text | None:
    return ERRCODES.get(str(code))
