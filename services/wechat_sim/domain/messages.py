"""Outgoing messages: what the send APIs accept, checked as the platform checks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.wechat_sim.domain.errors import ApiError

#: Message types customer-service ``message/custom/send`` delivers here.
CUSTOM_TYPES = frozenset({"text", "image", "voice", "video", "news", "mpnews"})
#: Message types ``message/mass/sendall`` delivers here.
MASS_TYPES = frozenset({"text", "image", "voice", "mpnews", "mpvideo"})
_MEDIA_TYPES = {"image": "image", "voice": "voice", "video": "video"}
MAX_NEWS_ARTICLES = 1  # one article per customer-service news message since 2018


@dataclass(frozen=True)
class Outgoing:
    msgtype: str
    body: dict[str, Any]
    #: A temporary media the message refers to, with the media type it must have.
    media: tuple[str, str] | None = None


def parse_message(payload: Mapping[str, Any], allowed: frozenset[str]) -> Outgoing:
    msgtype = payload.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in allowed:
        raise ApiError(40008)
    body = payload.get(msgtype)
    if not isinstance(body, Mapping):
        raise ApiError(44002 if body is None else 47001)
    body = dict(body)
    if msgtype == "text":
        content = body.get("content")
        if not isinstance(content, str) or not content:
            raise ApiError(44004)
        return Outgoing(msgtype, {"content": content})
    if msgtype == "news":
        articles = body.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(44002)
        if len(articles) > MAX_NEWS_ARTICLES:
            raise ApiError(45008)
        if not all(isinstance(a, Mapping) and isinstance(a.get("title", ""), str) for a in articles):
            raise ApiError(47001)
        return Outgoing(msgtype, {"articles": [dict(a) for a in articles]})
    media_id = body.get("media_id")
    if not isinstance(media_id, str) or not media_id:
        raise ApiError(40007)
    media = (media_id, _MEDIA_TYPES[msgtype]) if msgtype in _MEDIA_TYPES else None
    return Outgoing(msgtype, body, media)


def required_openid(payload: Mapping[str, Any], key: str = "touser") -> str:
    openid = payload.get(key)
    if not isinstance(openid, str) or not openid:
        raise ApiError(40003)
    return openid


@dataclass(frozen=True)
class TemplateMessage:
    touser: str
    template_id: str
    data: dict[str, Any]
    url: str | None
    miniprogram: dict[str, Any] | None

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"template_id": self.template_id, "data": self.data}
        if self.url:
            payload["url"] = self.url
        if self.miniprogram:
            payload["miniprogram"] = self.miniprogram
        return payload


#: Keys the 2023 category-template change drops without telling the sender.
DROPPED_TEMPLATE_KEYS = frozenset({"first", "remark"})


def parse_template(payload: Mapping[str, Any]) -> TemplateMessage:
    touser = required_openid(payload)
    template_id = payload.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        raise ApiError(40037)
    data = payload.get("data", {})
    if not isinstance(data, Mapping):
        raise ApiError(47001)
    kept = {k: v for k, v in data.items() if k not in DROPPED_TEMPLATE_KEYS}
    url = payload.get("url")
    mini = payload.get("miniprogram")
    return TemplateMessage(
        touser,
        template_id,
        kept,
        url if isinstance(url, str) else None,
        dict(mini) if isinstance(mini, Mapping) else None,
    )
