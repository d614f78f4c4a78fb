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
    SubscriptionChoice,
    SubscriptionPopupAnswered,
    SubscriptionSendFinished,
    SubscriptionSendResult,
    SubscriptionSettingsChanged,
    TemplateSendFinished,
    TextMessageReceived,
)
from shared.events import Event
from shared.wechat import InvalidXml, parse_xml, parse_xml_lists

_QR_PREFIX = "qrscene_"
#: CreateTime is unix seconds; beyond 9999-12-31 (or before 1970) no date holds it, and no push is from then.
_LATEST_CREATE_TIME = 253_402_300_799
#: Subscription-message events nest one ``<List>`` per template under this element.
_SUBSCRIPTION_GROUPS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


@dataclass(frozen=True)
class Push:
    """A push's fields as sent, with the header every push carries."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    fields: dict[str, str]
    #: The nested ``<List>`` items of a subscription-message event (empty for any other push).
    lists: tuple[dict[str, str], ...] = ()

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
            if self.lists:  # two subscription results in one second differ by their items (MsgID)
                raw += "|" + "|".join(",".join(f"{k}={v}" for k, v in sorted(item.items())) for item in self.lists)
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
    group = _SUBSCRIPTION_GROUPS.get((fields.get("Event") or "").lower())
    return Push(
        to_user=fields.pop("ToUserName"),
        from_user=fields.pop("FromUserName"),
        create_time=create_time,
        msg_type=fields.pop("MsgType").lower(),
        fields=fields,
        lists=tuple(parse_xml_lists(message, group)) if group is not None else (),
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _choices(lists: tuple[dict[str, str], ...]) -> list[SubscriptionChoice]:
    return [
        SubscriptionChoice(
            template_id=item.get("TemplateId", ""),
            status=item.get("SubscribeStatusString", "").lower(),
            scene=item.get("PopupScene", ""),
        )
        for item in lists
    ]


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
            case "subscribe_msg_popup_event" if push.lists:
                return SubscriptionPopupAnswered(openid=openid, answered_at=at, choices=_choices(push.lists))
            case "subscribe_msg_change_event" if push.lists:
                return SubscriptionSettingsChanged(openid=openid, changed_at=at, choices=_choices(push.lists))
            case "subscribe_msg_sent_event" if push.lists:
                results = [
                    SubscriptionSendResult(
                        template_id=item.get("TemplateId", ""),
                        msg_id=item.get("MsgID", ""),
                        error_code=_int(item.get("ErrorCode")),
                        error_status=item.get("ErrorStatus", ""),
                    )
                    for item in push.lists
                ]
                return SubscriptionSendFinished(openid=openid, finished_at=at, results=results)
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
