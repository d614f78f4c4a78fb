"""Events normalized from the Official Account's webhook pushes (published by the gateway).

One event per push type in the platform's reference; anything else is kept raw as
:class:`PushReceived` so nothing the platform sends is dropped.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from shared.events import Event

OpenId = Annotated[str, Field(min_length=1, max_length=128)]


class MemberFollowed(Event):
    """A WeChat user followed the account, directly or by scanning a parametric QR code."""

    message_type = "member.followed"
    message_version = 1

    openid: OpenId
    followed_at: AwareDatetime
    #: The QR scene (``qrscene_`` prefix stripped) when the follow came through a parametric code.
    scene: str | None = None
    ticket: str | None = None


class MemberUnfollowed(Event):
    """A WeChat user unfollowed the account."""

    message_type = "member.unfollowed"
    message_version = 1

    openid: OpenId
    unfollowed_at: AwareDatetime


class QrCodeScanned(Event):
    """A member who already follows scanned a parametric QR code (the platform's SCAN event)."""

    message_type = "member.qr_scanned"
    message_version = 1

    openid: OpenId
    scanned_at: AwareDatetime
    scene: str
    ticket: str | None = None


class MenuClicked(Event):
    """A member clicked a menu item of type ``click`` (EventKey is the item's key)."""

    message_type = "member.menu_clicked"
    message_version = 1

    openid: OpenId
    clicked_at: AwareDatetime
    key: str


class MenuLinkOpened(Event):
    """A member opened a menu item of type ``view`` (EventKey is the URL)."""

    message_type = "member.menu_link_opened"
    message_version = 1

    openid: OpenId
    opened_at: AwareDatetime
    url: str


class TextMessageReceived(Event):
    """A member sent a text message (opens the 48-hour customer-service window)."""

    message_type = "member.text_received"
    message_version = 1

    openid: OpenId
    received_at: AwareDatetime
    msg_id: str
    content: str


class ImageMessageReceived(Event):
    """A member sent an image, e.g. a Moments screenshot; fetch it by ``media_id`` or ``pic_url``."""

    message_type = "member.image_received"
    message_version = 1

    openid: OpenId
    received_at: AwareDatetime
    msg_id: str
    pic_url: str
    media_id: str


class TemplateSendFinished(Event):
    """The platform finished delivering a template message (Status ``success`` or ``failed:...``)."""

    message_type = "wechat.template_send_finished"
    message_version = 1

    openid: OpenId
    finished_at: AwareDatetime
    msg_id: str
    status: str


class MassSendFinished(Event):
    """The platform finished a mass send job, with its counts."""

    message_type = "wechat.mass_send_finished"
    message_version = 1

    openid: OpenId
    finished_at: AwareDatetime
    msg_id: str
    status: str
    total_count: int = 0
    filter_count: int = 0
    sent_count: int = 0
    error_count: int = 0


class PushReceived(Event):
    """A push the gateway has no dedicated event for, kept raw so nothing is dropped."""

    message_type = "wechat.push_received"
    message_version = 1

    openid: OpenId
    msg_type: str
    event: str | None = None
    received_at: AwareDatetime
    fields: dict[str, str]
