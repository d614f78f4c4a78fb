"""Events normalized from the Official Account's webhook pushes (published by the gateway).

One event per push type in the platform's reference; anything else is kept raw as
:class:`PushReceived` so nothing the platform sends is dropped.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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


TemplateId = Annotated[str, Field(min_length=1, max_length=128)]


class SubscriptionChoice(BaseModel):
    """One template of a subscription-message push: the member's answer (``accept`` or ``reject``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template_id: TemplateId
    status: Annotated[str, Field(max_length=32)]
    #: Where the popup was shown (the platform's PopupScene: 0 an article, 1 the menu, 2 a web page).
    scene: Annotated[str, Field(max_length=16)] = ""


class SubscriptionPopupAnswered(Event):
    """A member answered a subscription-message popup (``subscribe_msg_popup_event``): each accepted
    template may be sent one message (or any number, for a long-term template)."""

    message_type = "member.subscription_popup_answered"
    message_version = 1

    openid: OpenId
    answered_at: AwareDatetime
    choices: Annotated[list[SubscriptionChoice], Field(min_length=1, max_length=20)]


class SubscriptionSettingsChanged(Event):
    """A member switched templates on or off in their notice settings (``subscribe_msg_change_event``);
    ``reject`` cancels what they had consented to."""

    message_type = "member.subscription_settings_changed"
    message_version = 1

    openid: OpenId
    changed_at: AwareDatetime
    choices: Annotated[list[SubscriptionChoice], Field(min_length=1, max_length=20)]


class SubscriptionSendResult(BaseModel):
    """The platform's result for one subscription message (``ErrorCode`` 0 and ``success`` when shown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template_id: TemplateId
    msg_id: Annotated[str, Field(max_length=64)] = ""
    error_code: int = 0
    error_status: Annotated[str, Field(max_length=64)] = ""


class SubscriptionSendFinished(Event):
    """The platform reports what became of subscription messages sent to a member
    (``subscribe_msg_sent_event``)."""

    message_type = "wechat.subscription_send_finished"
    message_version = 1

    openid: OpenId
    finished_at: AwareDatetime
    results: Annotated[list[SubscriptionSendResult], Field(min_length=1, max_length=20)]


class PushReceived(Event):
    """A push the gateway has no dedicated event for, kept raw so nothing is dropped."""

    message_type = "wechat.push_received"
    message_version = 1

    openid: OpenId
    msg_type: str
    event: str | None = None
    received_at: AwareDatetime
    fields: dict[str, str]
