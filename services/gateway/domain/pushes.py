"""Parsing and normalizing Official Account pushes (pure: bytes in, events out)."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.contracts import MemberFollowed, MemberUnfollowed, PushReceived
from shared.events import Event


class InvalidPush(ValueError):
    """The body is not a push we can accept. The message is safe to return to the caller."""


# Any markup declaration other than CDATA (DOCTYPE, ENTITY, ...) is refused before parsing: pushes
# never carry one, and refusing them outright rules out entity expansion and external entities.
_DECLARATION = re.compile(rb"<!(?!\[CDATA\[)")
_QR_PREFIX = "qrscene_"


@dataclass(frozen=True)
class Push:
    """A push's fields as sent, with the header the platform guarantees."""

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
        """Identity of a push across the platform's retries: MsgId for messages, and sender, time,
        event and key for events (the platform resends the same values when it retries)."""
        msg_id = self.fields.get("MsgId")
        if msg_id:
            raw = f"{appid}|msg|{msg_id}"
        else:
            event_key = self.fields.get("EventKey", "")
            raw = f"{appid}|event|{self.from_user}|{self.create_time}|{self.event}|{event_key}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def parse(body: bytes) -> Push:
    if _DECLARATION.search(body):
        raise InvalidPush("XML declarations (DOCTYPE, ENTITY) are not accepted")
    try:
        root = ET.fromstring(body)  # noqa: S314  (declarations refused above)
    except ET.ParseError as exc:
        raise InvalidPush(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise InvalidPush("root element must be <xml>")
    fields = {child.tag: (child.text or "").strip() for child in root if len(child) == 0}
    missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
    if missing:
        raise InvalidPush(f"missing {', '.join(missing)}")
    try:
        create_time = int(fields["CreateTime"])
    except ValueError:
        raise InvalidPush("CreateTime is not an integer") from None
    return Push(
        to_user=fields.pop("ToUserName"),
        from_user=fields.pop("FromUserName"),
        create_time=create_time,
        msg_type=fields.pop("MsgType").lower(),
        fields=fields,
    )


def normalize(push: Push) -> Event:
    """The platform event for a push; pushes without a dedicated event are kept raw."""
    if push.msg_type == "event" and push.event == "subscribe":
        key = push.fields.get("EventKey") or ""
        scene = key[len(_QR_PREFIX) :] if key.startswith(_QR_PREFIX) else None
        return MemberFollowed(
            openid=push.from_user,
            followed_at=push.occurred_at,
            scene=scene or None,
            ticket=push.fields.get("Ticket") or None,
        )
    if push.msg_type == "event" and push.event == "unsubscribe":
        return MemberUnfollowed(openid=push.from_user, unfollowed_at=push.occurred_at)
    return PushReceived(
        openid=push.from_user,
        msg_type=push.msg_type,
        event=push.event,
        received_at=push.occurred_at,
        fields=push.fields,
    )
