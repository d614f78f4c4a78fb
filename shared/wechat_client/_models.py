"""What goes to the platform (messages) and what comes back (results), as small frozen models.

Results ignore fields they do not name, so a platform that adds a field breaks nothing; fields the
platform has stopped returning (nickname, headimgurl, sex, region since 2021-12-27) are not modelled.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Article",
    "CustomMessage",
    "FollowerPage",
    "Image",
    "MassMessage",
    "MassSendResult",
    "MediaKind",
    "MiniProgram",
    "MpNews",
    "News",
    "QrCode",
    "Tag",
    "Text",
    "UploadedMedia",
    "UserInfo",
]

MediaKind = Literal["image", "voice", "video", "thumb"]


class _Outgoing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Message(_Outgoing):
    msgtype: ClassVar[str]

    def body(self) -> dict[str, Any]:
        """``{msgtype: {...}}``, the part of a send request that carries the content."""
        return {self.msgtype: self.model_dump(exclude_none=True)}


class Text(_Message):
    msgtype: ClassVar[str] = "text"
    content: str = Field(min_length=1)


class Image(_Message):
    """An image already uploaded with :meth:`WeChatClient.upload_media`."""

    msgtype: ClassVar[str] = "image"
    media_id: str = Field(min_length=1)


class Article(_Outgoing):
    title: str = Field(min_length=1)
    description: str | None = None
    url: str | None = None
    picurl: str | None = None


class News(_Message):
    """A link card (customer-service messages only). The platform now shows one article."""

    msgtype: ClassVar[str] = "news"
    articles: tuple[Article, ...] = Field(min_length=1, max_length=8)


class MpNews(_Message):
    """A published article by its media id (mass sends only)."""

    msgtype: ClassVar[str] = "mpnews"
    media_id: str = Field(min_length=1)


CustomMessage = Text | Image | News
MassMessage = Text | Image | MpNews


class MiniProgram(_Outgoing):
    """A mini program page a template or subscription notice opens."""

    appid: str = Field(min_length=1)
    pagepath: str = ""


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class QrCode(_Result):
    ticket: str
    #: Seconds the code stays valid; None for permanent codes.
    expire_seconds: int | None = None
    #: What the code encodes; render it yourself, or fetch the image with ``qrcode_image(ticket)``.
    url: str


class UploadedMedia(_Result):
    """Temporary media: kept three days from ``created_at`` (Unix seconds)."""

    type: str
    media_id: str
    created_at: int


class MassSendResult(_Result):
    """The send job; its outcome arrives later as a MASSSENDJOBFINISH push carrying ``msg_id``."""

    msg_id: int
    msg_data_id: int | None = None


class Tag(_Result):
    id: int
    name: str


class UserInfo(_Result):
    """A user as ``user/info`` describes them. With ``subscribe == 0`` only ``openid`` is known."""

    subscribe: int
    openid: str
    subscribe_time: int | None = None
    unionid: str | None = None
    remark: str | None = None
    groupid: int | None = None
    tagid_list: tuple[int, ...] = ()
    subscribe_scene: str | None = None
    qr_scene: int | None = None
    qr_scene_str: str | None = None

    @property
    def follows(self) -> bool:
        return self.subscribe == 1


class FollowerPage(_Result):
    """Up to 10,000 followers. Pass ``next_openid`` to the next call; it is empty after the last page."""

    total: int
    count: int
    openids: tuple[str, ...] = ()
    next_openid: str = ""

    @property
    def is_last(self) -> bool:
        return not self.next_openid or self.count == 0
