"""Passive replies: what the gateway answers in the webhook response itself (pure).

The platform shows a passive reply to the member at once, within the push's 5-second window, so it
is decided here from rules, not by a downstream consumer. Rules match a text message's content
(exact keyword), a follow, or a menu click key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.contracts import MemberFollowed, MenuClicked, TextMessageReceived
from shared.events import Event
from shared.wechat import to_xml


class Trigger(StrEnum):
    KEYWORD = "keyword"
    FOLLOW = "follow"
    CLICK = "click"


@dataclass(frozen=True)
class TextReply:
    content: str


@dataclass(frozen=True)
class ImageReply:
    media_id: str


Reply = TextReply | ImageReply


@dataclass(frozen=True)
class ReplyRule:
    trigger: Trigger
    #: The keyword or menu key; empty for follows.
    match: str
    reply: Reply


def choose(rules: Iterable[ReplyRule], event: Event) -> Reply | None:
    """The reply the first matching rule gives, or None."""
    for rule in rules:
        if rule.trigger is Trigger.FOLLOW and isinstance(event, MemberFollowed):
            return rule.reply
        if (
            rule.trigger is Trigger.KEYWORD
            and isinstance(event, TextMessageReceived)
            and event.content.strip() == rule.match
        ):
            return rule.reply
        if rule.trigger is Trigger.CLICK and isinstance(event, MenuClicked) and event.key == rule.match:
            return rule.reply
    return None


def render(reply: Reply, *, to_openid: str, from_account: str, now: int) -> bytes:
    """The reply XML, addressed back to the member (ToUserName/FromUserName swapped)."""
    header: dict[str, str | int] = {"ToUserName": to_openid, "FromUserName": from_account, "CreateTime": now}
    if isinstance(reply, TextReply):
        return to_xml(header | {"MsgType": "text", "Content": reply.content})
    return to_xml({**header, "MsgType": "image", "Image": {"MediaId": reply.media_id}})
