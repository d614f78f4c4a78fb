"""Webhook pushes exactly as the Official Account platform sends them (the demo and tests use these).

Plaintext mode: the XML body plus ``signature``/``timestamp``/``nonce`` in the query string.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class SignedPush:
    params: dict[str, str]
    body: bytes


def _cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


def push_xml(fields: dict[str, str | int]) -> bytes:
    inner = "".join(
        f"<{name}>{value if isinstance(value, int) else _cdata(value)}</{name}>" for name, value in fields.items()
    )
    return f"<xml>{inner}</xml>".encode()


def follow(openid: str, create_time: int, *, scene: str | None = None, account: str = "gh_demo") -> bytes:
    fields: dict[str, str | int] = {
        "ToUserName": account,
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": "subscribe",
    }
    if scene is not None:
        fields |= {"EventKey": f"qrscene_{scene}", "Ticket": f"ticket-{scene}"}
    return push_xml(fields)


def unfollow(openid: str, create_time: int, *, account: str = "gh_demo") -> bytes:
    return push_xml(
        {
            "ToUserName": account,
            "FromUserName": openid,
            "CreateTime": create_time,
            "MsgType": "event",
            "Event": "unsubscribe",
        }
    )


def text(openid: str, create_time: int, content: str, msg_id: int, *, account: str = "gh_demo") -> bytes:
    return push_xml(
        {
            "ToUserName": account,
            "FromUserName": openid,
            "CreateTime": create_time,
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id,
        }
    )


def sign(token: str, body: bytes, *, timestamp: int, openid: str, nonce: str | None = None) -> SignedPush:
    nonce = nonce or str(secrets.randbelow(10**9))
    ts = str(timestamp)
    signature = hashlib.sha1("".join(sorted([token, ts, nonce])).encode()).hexdigest()  # noqa: S324
    return SignedPush({"signature": signature, "timestamp": ts, "nonce": nonce, "openid": openid}, body)
