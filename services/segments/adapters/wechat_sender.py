"""The push pipeline's :class:`~services.segments.service_layer.ports.Sender` over the WeChat API client:
one message per call, the client's rate limiter pacing them, its errors sorted into what the pipeline
does next."""

from __future__ import annotations

from collections.abc import Sequence

from services.segments.domain.pushes import (
    REFUSED_LOCALLY,
    TRANSPORT_FAILED,
    Channel,
    MessageContent,
    SubscriptionContent,
    TemplateContent,
)
from services.segments.service_layer.ports import Content, SendRefused
from shared.wechat import WeChatError
from shared.wechat_client import (
    Article,
    CustomerServiceCountExceeded,
    Image,
    News,
    OutsideCustomerServiceWindow,
    PlatformBusy,
    QuotaExceeded,
    RecipientUnavailable,
    Text,
    TokenUnavailable,
    TransportError,
    WeChatApiError,
    WeChatClients,
)

__all__ = ["WeChatSender"]

_TAG_BATCH = 50


def _message(content: MessageContent) -> Text | Image | News:
    if content.kind == "text":
        return Text(content=content.text)
    if content.kind == "image":
        return Image(media_id=content.media_id)
    articles = tuple(
        Article(title=a.title, description=a.description or None, url=a.url, picurl=a.picurl or None)
        for a in content.articles
    )
    return News(articles=articles)


class WeChatSender:
    def __init__(self, clients: WeChatClients) -> None:
        self._clients = clients

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        client = self._clients[appid]
        try:
            if channel is Channel.CUSTOMER_SERVICE and isinstance(content, MessageContent):
                await client.send_custom_message(openid, _message(content))
                return None
            if channel is Channel.TEMPLATE and isinstance(content, TemplateContent):
                return await client.send_template(
                    openid, content.template_id, content.data, url=content.url or None, client_msg_id=client_msg_id
                )
            if channel is Channel.SUBSCRIPTION and isinstance(content, SubscriptionContent):
                await client.send_subscribe_message(
                    openid, content.template_id, content.data, page=content.page or None
                )
                return None
        except WeChatError as exc:
            raise _refusal(exc) from exc
        raise ValueError(f"{channel} cannot carry {type(content).__name__}")

    async def create_tag(self, appid: str, name: str) -> int:
        try:
            return (await self._clients[appid].create_tag(name)).id
        except WeChatError as exc:
            raise _refusal(exc) from exc

    async def tag_members(self, appid: str, tag_id: int, openids: Sequence[str]) -> None:
        try:
            for start in range(0, len(openids), _TAG_BATCH):
                await self._clients[appid].tag_members(tag_id, openids[start : start + _TAG_BATCH])
        except WeChatError as exc:
            raise _refusal(exc) from exc

    async def delete_tag(self, appid: str, tag_id: int) -> None:
        try:
            await self._clients[appid].delete_tag(tag_id)
        except WeChatError as exc:
            raise _refusal(exc) from exc

    async def mass_send(self, appid: str, content: MessageContent, tag_id: int, clientmsgid: str) -> int:
        message = _message(content)
        if isinstance(message, News):
            raise SendRefused(REFUSED_LOCALLY, "rejected", "mass sends carry text or an image")
        try:
            result = await self._clients[appid].mass_send_by_tag(message, tag_id=tag_id, clientmsgid=clientmsgid)
        except WeChatError as exc:
            raise _refusal(exc) from exc
        return result.msg_id


def _refusal(exc: WeChatError) -> SendRefused:
    if isinstance(exc, OutsideCustomerServiceWindow | CustomerServiceCountExceeded):
        return SendRefused(exc.errcode, "window", exc.errmsg)
    if isinstance(exc, QuotaExceeded):
        if exc.daily:
            return SendRefused(exc.errcode, "quota", exc.errmsg, exc.retry_after)
        return SendRefused(exc.errcode, "transient", exc.errmsg, exc.retry_after)
    if isinstance(exc, PlatformBusy):
        return SendRefused(exc.errcode, "transient", exc.errmsg)
    if isinstance(exc, RecipientUnavailable):
        return SendRefused(exc.errcode, "recipient", exc.errmsg)
    if isinstance(exc, WeChatApiError):
        return SendRefused(exc.errcode, "rejected", exc.errmsg)
    if isinstance(exc, TransportError | TokenUnavailable):
        return SendRefused(TRANSPORT_FAILED, "transient", str(exc))
    return SendRefused(REFUSED_LOCALLY, "rejected", str(exc))  # InvalidRequest: never sent
