"""Official Account pushes: from the decrypted XML to the platform's events (pure: no I/O)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from shared.contracts import (
    ImageMessageReceived,
    MassSendFinished,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    MenuLinkOpened,
    PushReceived,
    QrCodeScanned,
    TemplateSendFinished,
    TextMessageReceived,
)
from shared.events import Event
from shared.wechat import InvalidXml, parse_xml

_QR_PREFIX = "qrscene_"
#: CreateTime is unix seconds; beyond 9999-12-31 (or before 1970) no date holds it, and no push is from then.
_LATEST_CREATE_TIME = 253_402_300_799


@dataclass(frozen=True)
class Push:
    """A push's fields as sent, with the header every push carries."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    fields: dict[str, str]

    @property
    def event(self) -> str | None:
        value = self.fields.get("Event")
        return value.lower() if value else None

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromtimestamp(self.create_time, UTC)

    def dedup_key(self, appid: str) -> str:
        """Identity of a push across the platform's retries: MsgId for messages; sender, time, event
        and key for events (the platform resends the same values when it retries)."""
        msg_id = self.fields.get("MsgId") if self.msg_type != "event" else None
        if msg_id:
            raw = f"{appid}|msg|{msg_id}"
        else:
            event_key = self.fields.get("EventKey", "")
            raw = f"{appid}|event|{self.from_user}|{self.create_time}|{self.event}|{event_key}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def parse(message: bytes) -> Push:
    """A push from its (decrypted) XML. Raises :class:`InvalidXml` with a reason safe to return."""
    fields = parse_xml(message)
    missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
    if missing:
        raise InvalidXml(f"missing {', '.join(missing)}")
    try:
        create_time = int(fields["CreateTime"])
    except ValueError:
        raise InvalidXml("CreateTime is not an integer") from None
    if not 0 <= create_time <= _LATEST_CREATE_TIME:
        raise InvalidXml("CreateTime is not a unix time")
    return Push(
        to_user=fields.pop("ToUserName"),
        from_user=fields.pop("FromUserName"),
        create_time=create_time,
        msg_type=fields.pop("MsgType").lower(),
        fields=fields,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def normalize(push: Push) -> Event:
    """The platform event for a push; pushes without a dedicated event are kept raw.

    Raises :class:`InvalidXml` naming the field when a value is outside what the event holds (an openid
    of 300 characters, say): the platform never sends one, so it is a bad request, not a server error.
    """
    try:
        return _normalize(push)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
        raise InvalidXml(f"push fields out of range: {', '.join(fields)}") from None


def _normalize(push: Push) -> Event:
    f, at, openid = push.fields, push.occurred_at, push.from_user
    if push.msg_type == "event":
        key = f.get("EventKey") or ""
        ticket = f.get("Ticket") or None
        match push.event:
            case "subscribe":
                scene = key[len(_QR_PREFIX) :] if key.startswith(_QR_PREFIX) else None
                return MemberFollowed(openid=openid, followed_at=at, scene=scene or None, ticket=ticket)
            case "unsubscribe":
                return MemberUnfollowed(openid=openid, unfollowed_at=at)
            case "scan" if key:
                return QrCodeScanned(openid=openid, scanned_at=at, scene=key, ticket=ticket)
            case "click" if key:
                return MenuClicked(openid=openid, clicked_at=at, key=key)
            case "view" if key:
                return MenuLinkOpened(openid=openid, opened_at=at, url=key)
            case "templatesendjobfinish" if f.get("MsgID"):
                return TemplateSendFinished(
                    openid=openid, finished_at=at, msg_id=f["MsgID"], status=f.get("Status", "")
                )
            case "masssendjobfinish" if f.get("MsgID"):
                return MassSendFinished(
                    openid=openid,
                    finished_at=at,
                    msg_id=f["MsgID"],
                    status=f.get("Status", ""),
                    total_count=_int(f.get("TotalCount")),
                    filter_count=_int(f.get("FilterCount")),
                    sent_count=_int(f.get("SentCount")),
                    error_count=_int(f.get("ErrorCount")),
                )
    elif push.msg_type == "text" and f.get("MsgId"):
        return TextMessageReceived(openid=openid, received_at=at, msg_id=f["MsgId"], content=f.get("Content", ""))
    elif push.msg_type == "image" and f.get("MsgId"):
        return ImageMessageReceived(
            openid=openid,
            received_at=at,
            msg_id=f["MsgId"],
            pic_url=f.get("PicUrl", ""),
            media_id=f.get("MediaId", ""),
        )
    return PushReceived(openid=openid, msg_type=push.msg_type, event=push.event, received_at=at, fields=f)
