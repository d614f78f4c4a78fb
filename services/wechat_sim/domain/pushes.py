"""The pushes the platform sends to the account's server, and the passive replies it accepts back.

Field names, order and types follow the reference table (wechat-platform.md §3): a QR follow carries
``EventKey=qrscene_<scene>`` and ``Ticket``; a scan by a follower carries the scene without the
prefix; messages carry a 64-bit ``MsgId``; job-finish events carry ``MsgID`` (capital D).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from services.wechat_sim.domain.qrcodes import QrTicket
from shared.wechat import MessageCrypto, Mode, ProtocolError, open_reply, parse_xml, to_xml

#: Sender of MASSSENDJOBFINISH: the account's mass-send assistant.
MASS_HELPER = "mphelper"
QR_PREFIX = "qrscene_"

PushFields = dict[str, Any]


def _header(original_id: str, openid: str, now: float, msg_type: str) -> PushFields:
    return {"ToUserName": original_id, "FromUserName": openid, "CreateTime": int(now), "MsgType": msg_type}


def _event(original_id: str, openid: str, now: float, event: str) -> PushFields:
    return _header(original_id, openid, now, "event") | {"Event": event}


def subscribe(original_id: str, openid: str, now: float, ticket: QrTicket | None) -> PushFields:
    fields = _event(original_id, openid, now, "subscribe")
    if ticket is not None:
        fields |= {"EventKey": QR_PREFIX + ticket.scene, "Ticket": ticket.ticket}
    return fields


def scan(original_id: str, openid: str, now: float, ticket: QrTicket) -> PushFields:
    return _event(original_id, openid, now, "SCAN") | {"EventKey": ticket.scene, "Ticket": ticket.ticket}


def unsubscribe(original_id: str, openid: str, now: float) -> PushFields:
    return _event(original_id, openid, now, "unsubscribe")


def click(original_id: str, openid: str, now: float, key: str) -> PushFields:
    return _event(original_id, openid, now, "CLICK") | {"EventKey": key}


def view(original_id: str, openid: str, now: float, url: str) -> PushFields:
    return _event(original_id, openid, now, "VIEW") | {"EventKey": url}


def text(original_id: str, openid: str, now: float, content: str, msg_id: int) -> PushFields:
    return _header(original_id, openid, now, "text") | {"Content": content, "MsgId": msg_id}


def image(original_id: str, openid: str, now: float, pic_url: str, media_id: str, msg_id: int) -> PushFields:
    return _header(original_id, openid, now, "image") | {"PicUrl": pic_url, "MediaId": media_id, "MsgId": msg_id}


def template_finished(original_id: str, openid: str, now: float, msgid: int, status: str) -> PushFields:
    return _event(original_id, openid, now, "TEMPLATESENDJOBFINISH") | {"MsgID": msgid, "Status": status}


def mass_finished(
    original_id: str, now: float, msg_id: int, *, total: int, filtered: int, sent: int, errors: int
) -> PushFields:
    return _event(original_id, MASS_HELPER, now, "MASSSENDJOBFINISH") | {
        "MsgID": msg_id,
        "Status": "send success",
        "TotalCount": total,
        "FilterCount": filtered,
        "SentCount": sent,
        "ErrorCount": errors,
        "CopyrightCheckResult": {"Count": 0, "ResultList": {}, "CheckState": 1},
    }


def subscribe_popup(original_id: str, openid: str, now: float, template_id: str, *, accept: bool) -> PushFields:
    choice = {"TemplateId": template_id, "SubscribeStatusString": "accept" if accept else "reject", "PopupScene": 2}
    return _event(original_id, openid, now, "subscribe_msg_popup_event") | {"SubscribeMsgPopupEvent": {"List": choice}}


def subscribe_change(original_id: str, openid: str, now: float, template_id: str, *, accept: bool) -> PushFields:
    """The member switched a template on or off in their notice settings."""
    choice = {"TemplateId": template_id, "SubscribeStatusString": "accept" if accept else "reject"}
    return _event(original_id, openid, now, "subscribe_msg_change_event") | {
        "SubscribeMsgChangeEvent": {"List": choice}
    }


def subscribe_sent(
    original_id: str,
    openid: str,
    now: float,
    template_id: str,
    msg_id: int,
    *,
    error_code: int = 0,
    status: str = "success",
) -> PushFields:
    """What became of a subscription notice (pushed after ``bizsend``)."""
    result = {"TemplateId": template_id, "MsgID": msg_id, "ErrorCode": error_code, "ErrorStatus": status}
    return _event(original_id, openid, now, "subscribe_msg_sent_event") | {"SubscribeMsgSentEvent": {"List": result}}


def render(fields: PushFields) -> bytes:
    """The push XML. Nested groups (copyright results, popup choices) render as nested elements."""
    return to_xml(cast("Mapping[str, Any]", fields))


class InvalidReply(ValueError):
    """The account's server answered with something the platform cannot show the member."""


@dataclass(frozen=True)
class PassiveReply:
    msgtype: str
    payload: dict[str, Any]
    encrypted: bool
    #: (media_id, media type) the reply needs to exist as uploaded temporary media
    media: tuple[str, str] | None = None


_MEDIA_REPLIES = {"image": "Image", "voice": "Voice", "video": "Video"}


def read_reply(
    body: bytes, *, mode: Mode, token: str, crypto: MessageCrypto | None, openid: str, original_id: str
) -> PassiveReply | None:
    """The passive reply in an answer body; None for ``success`` or an empty body."""
    stripped = body.strip()
    if stripped in (b"", b"success"):
        return None
    try:
        outer = parse_xml(stripped)
    except ProtocolError as exc:
        raise InvalidReply(f"not a reply: {exc}") from None
    encrypted = "Encrypt" in outer
    if encrypted:
        if mode is Mode.PLAINTEXT or crypto is None:
            raise InvalidReply("encrypted reply, but the account is in plaintext mode")
        try:
            stripped = open_reply(stripped, token=token, crypto=crypto)
            parse_xml(stripped)
        except ProtocolError as exc:
            raise InvalidReply(f"encrypted reply refused: {exc}") from None
    elif mode is Mode.SAFE:
        raise InvalidReply("safe mode needs an encrypted reply")
    tree = _tree(stripped)
    if tree.get("ToUserName") != openid or tree.get("FromUserName") != original_id:
        raise InvalidReply("reply ToUserName/FromUserName do not match the push")
    msgtype = tree.get("MsgType")
    if msgtype == "text":
        content = tree.get("Content")
        if not isinstance(content, str) or not content:
            raise InvalidReply("text reply without Content")
        return PassiveReply("text", {"content": content}, encrypted)
    if msgtype in _MEDIA_REPLIES:
        group = tree.get(_MEDIA_REPLIES[msgtype])
        media_id = group.get("MediaId") if isinstance(group, dict) else None
        if not isinstance(media_id, str) or not media_id:
            raise InvalidReply(f"{msgtype} reply without {_MEDIA_REPLIES[msgtype]}/MediaId")
        payload = {_snake(k): v for k, v in group.items()} if isinstance(group, dict) else {}
        return PassiveReply(msgtype, payload, encrypted, (media_id, msgtype))
    if msgtype == "news":
        articles = tree.get("Articles")
        items = articles.get("item") if isinstance(articles, dict) else None
        listed = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
        if not listed or str(len(listed)) != str(tree.get("ArticleCount")) or len(listed) > 8:
            raise InvalidReply("news reply needs 1-8 Articles/item matching ArticleCount")
        return PassiveReply("news", {"articles": [{_snake(k): v for k, v in a.items()} for a in listed]}, encrypted)
    if msgtype == "music":
        group = tree.get("Music")
        if not isinstance(group, dict):
            raise InvalidReply("music reply without Music")
        return PassiveReply("music", {_snake(k): v for k, v in group.items()}, encrypted)
    if msgtype == "transfer_customer_service":
        return PassiveReply("transfer_customer_service", {}, encrypted)
    raise InvalidReply(f"unsupported reply MsgType {msgtype!r}")


def _tree(body: bytes) -> dict[str, Any]:
    # parse_xml has already refused declarations (DTD, entities), so ElementTree is safe here.
    root = ET.fromstring(body)  # noqa: S314
    return cast("dict[str, Any]", _element(root))


def _element(element: ET.Element) -> Any:
    if len(element) == 0:
        return (element.text or "").strip()
    result: dict[str, Any] = {}
    for child in element:
        value = _element(child)
        if child.tag in result:  # repeated <item>
            existing = result[child.tag]
            result[child.tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[child.tag] = value
    return result


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out.replace("h_q_", "hq_")
