from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from shared.wechat._crypto import MessageCrypto
from shared.wechat._exceptions import InvalidXml
from shared.wechat._signature import signature
from shared.wechat._xml import parse_xml, to_xml


class Mode(StrEnum):
    """How an account's pushes travel (chosen per account in the platform's admin console)."""

    PLAINTEXT = "plaintext"
    #: plaintext fields and ``<Encrypt>`` side by side; the receiver may use either
    COMPATIBLE = "compatible"
    #: only ``<Encrypt>``; replies must be encrypted too
    SAFE = "safe"


@dataclass(frozen=True)
class SignedRequest:
    """A push as the platform sends it: query parameters and body."""

    params: dict[str, str]
    body: bytes


def seal_push(
    message: bytes,
    *,
    token: str,
    mode: Mode,
    crypto: MessageCrypto | None,
    timestamp: int,
    openid: str,
    to_user: str = "gh_simulator",
    nonce: str | None = None,
) -> SignedRequest:
    """Sign (and in compatible/safe mode encrypt) a push XML exactly as the platform does."""
    nonce = nonce or str(secrets.randbelow(10**10))
    ts = str(timestamp)
    params = {"signature": signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": openid}
    if mode is Mode.PLAINTEXT:
        return SignedRequest(params, message)
    if crypto is None:
        raise ValueError(f"{mode} mode needs the account's EncodingAESKey")
    encrypted = crypto.encrypt(message)
    params |= {"encrypt_type": "aes", "msg_signature": signature(token, ts, nonce, encrypted)}
    if mode is Mode.SAFE:
        return SignedRequest(params, to_xml({"ToUserName": to_user, "Encrypt": encrypted}))
    fields: dict[str, str | int] = dict(parse_xml(message))
    fields["Encrypt"] = encrypted
    return SignedRequest(params, to_xml(fields))


def seal_reply(message: bytes, *, token: str, crypto: MessageCrypto, timestamp: str, nonce: str) -> bytes:
    """An encrypted passive reply: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
    encrypted = crypto.encrypt(message)
    return to_xml(
        {
            "Encrypt": encrypted,
            "MsgSignature": signature(token, timestamp, nonce, encrypted),
            "TimeStamp": timestamp,
            "Nonce": nonce,
        }
    )


def open_reply(body: bytes, *, token: str, crypto: MessageCrypto) -> bytes:
    """The message inside an encrypted passive reply, after checking its signature."""
    fields = parse_xml(body)
    try:
        encrypted, given = fields["Encrypt"], fields["MsgSignature"]
        timestamp, nonce = fields["TimeStamp"], fields["Nonce"]
    except KeyError as missing:
        raise InvalidXml(f"encrypted reply without {missing.args[0]}") from None
    if signature(token, timestamp, nonce, encrypted) != given:
        raise InvalidXml("reply MsgSignature does not match")
    return crypto.decrypt(encrypted)
