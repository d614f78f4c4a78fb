"""Push XML as the Official Account platform sends it, for the demo, the bench and the tests.

The platform simulator (``services/wechat_sim``) builds the same pushes for simulated members; these
helpers serve code that talks to the gateway directly.
"""

from __future__ import annotations

from shared.wechat import MessageCrypto, Mode, SignedRequest, seal_push, to_xml

ACCOUNT = "gh_demo"


def _header(openid: str, create_time: int, msg_type: str, account: str) -> dict[str, str | int]:
    return {"ToUserName": account, "FromUserName": openid, "CreateTime": create_time, "MsgType": msg_type}


def _event(openid: str, create_time: int, event: str, account: str, **fields: str | int) -> bytes:
    return to_xml(_header(openid, create_time, "event", account) | {"Event": event} | fields)


def follow(openid: str, create_time: int, *, scene: str | None = None, account: str = ACCOUNT) -> bytes:
    if scene is None:
        return _event(openid, create_time, "subscribe", account)
    return _event(openid, create_time, "subscribe", account, EventKey=f"qrscene_{scene}", Ticket=f"ticket-{scene}")


def scan(openid: str, create_time: int, scene: str, *, account: str = ACCOUNT) -> bytes:
    return _event(openid, create_time, "SCAN", account, EventKey=scene, Ticket=f"ticket-{scene}")


def unfollow(openid: str, create_time: int, *, account: str = ACCOUNT) -> bytes:
    return _event(openid, create_time, "unsubscribe", account)


def click(openid: str, create_time: int, key: str, *, account: str = ACCOUNT) -> bytes:
    return _event(openid, create_time, "CLICK", account, EventKey=key)


def view(openid: str, create_time: int, url: str, *, account: str = ACCOUNT) -> bytes:
    return _event(openid, create_time, "VIEW", account, EventKey=url)


def text(openid: str, create_time: int, content: str, msg_id: int, *, account: str = ACCOUNT) -> bytes:
    return to_xml(_header(openid, create_time, "text", account) | {"Content": content, "MsgId": msg_id})


def image(openid: str, create_time: int, pic_url: str, media_id: str, msg_id: int, *, account: str = ACCOUNT) -> bytes:
    fields: dict[str, str | int] = {"PicUrl": pic_url, "MediaId": media_id, "MsgId": msg_id}
    return to_xml(_header(openid, create_time, "image", account) | fields)


def template_finished(openid: str, create_time: int, msg_id: int, status: str, *, account: str = ACCOUNT) -> bytes:
    return _event(openid, create_time, "TEMPLATESENDJOBFINISH", account, MsgID=msg_id, Status=status)


def mass_finished(
    openid: str, create_time: int, msg_id: int, *, sent: int, errors: int, account: str = ACCOUNT
) -> bytes:
    return _event(
        openid,
        create_time,
        "MASSSENDJOBFINISH",
        account,
        MsgID=msg_id,
        Status="send success",
        TotalCount=sent + errors,
        FilterCount=sent + errors,
        SentCount=sent,
        ErrorCount=errors,
    )


def sign(
    token: str,
    body: bytes,
    *,
    timestamp: int,
    openid: str,
    nonce: str | None = None,
    mode: Mode = Mode.PLAINTEXT,
    crypto: MessageCrypto | None = None,
) -> SignedRequest:
    """Sign (and in compatible/safe mode encrypt) a push for the gateway."""
    return seal_push(body, token=token, mode=mode, crypto=crypto, timestamp=timestamp, openid=openid, nonce=nonce)
