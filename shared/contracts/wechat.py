"""Events normalized from the Official Account's webhook pushes (published by the gateway)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.events import Event


class MemberFollowed(Event):
    """A WeChat user followed the account, directly or by scanning a parametric QR code."""

    message_type = "member.followed"
    message_version = 1

    openid: str = Field(min_length=1, max_length=128)
    followed_at: AwareDatetime
    #: The QR scene (``qrscene_`` prefix stripped) when the follow came through a parametric code.
    scene: str | None = None
    ticket: str | None = None


class MemberUnfollowed(Event):
    """A WeChat user unfollowed the account."""

    message_type = "member.unfollowed"
    message_version = 1

    openid: str = Field(min_length=1, max_length=128)
    unfollowed_at: AwareDatetime


class PushReceived(Event):
    """A push the gateway has no dedicated event for yet, kept raw so nothing is dropped."""

    message_type = "wechat.push_received"
    message_version = 1

    openid: str = Field(min_length=1, max_length=128)
    msg_type: str
    event: str | None = None
    received_at: AwareDatetime
    fields: dict[str, str]
