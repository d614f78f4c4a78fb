"""Accepting or refusing a push request: signatures, replay window, decryption with key rotation.

Pure: the account's keys and the current time come in as arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.wechat import (
    AppIdMismatch,
    InvalidAesKey,
    InvalidCiphertext,
    InvalidXml,
    MessageCrypto,
    Mode,
    check_signature,
    parse_xml,
)

_SAFE_MODE_BODY = re.compile(
    rb"\s*<xml>\s*<ToUserName><!\[CDATA\[[^\]<]{0,64}\]\]></ToUserName>\s*"
    rb"<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]{1,1400000})\]\]></Encrypt>\s*</xml>\s*"
)


class Refused(Exception):
    """The request is not accepted. ``status`` is the HTTP status, ``reason`` safe to return."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class AccountKeys:
    """What the gateway needs of an account to accept its pushes."""

    appid: str
    token: str
    #: Current EncodingAESKey first, then the previous one during a rotation.
    ciphers: tuple[MessageCrypto, ...] = field(default=())
    #: False for a safe-mode account: a plaintext push's body is covered by no signature, so an account
    #: that never sends one must not accept one.
    accepts_plaintext: bool = True

    @classmethod
    def build(
        cls,
        appid: str,
        token: str,
        aes_key: str,
        previous_aes_key: str | None = None,
        *,
        accepts_plaintext: bool = True,
    ) -> AccountKeys:
        keys = [aes_key] + ([previous_aes_key] if previous_aes_key else [])
        ciphers = []
        for key in keys:
            try:
                ciphers.append(MessageCrypto(appid, key))
            except InvalidAesKey:
                continue  # a plaintext-only account may carry a placeholder key
        return cls(appid=appid, token=token, ciphers=tuple(ciphers), accepts_plaintext=accepts_plaintext)


@dataclass(frozen=True)
class PushParams:
    signature: str
    timestamp: str
    nonce: str
    encrypt_type: str | None = None
    msg_signature: str | None = None


@dataclass(frozen=True)
class OpenedPush:
    message: bytes
    mode: Mode
    #: The cipher that opened it: replies are encrypted with the same key.
    cipher: MessageCrypto | None


def check_fresh(timestamp: str, now: float, window_seconds: int) -> None:
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):  # int() takes "١٢" too
        raise Refused(400, "timestamp is not an integer")
    sent = int(timestamp)
    if abs(now - sent) > window_seconds:
        raise Refused(403, f"timestamp outside the {window_seconds} s window (replayed or clock skew)")


def well_formed(params: PushParams) -> None:
    """The platform sends hex signatures, digit timestamps and ASCII nonces; anything else is refused
    before any key is looked up (and never reaches a comparison that could fail on it)."""
    if (params.signature + params.timestamp + params.nonce + (params.msg_signature or "")).isascii() and (
        params.encrypt_type is None or params.encrypt_type.isascii()
    ):
        return  # the usual case, in one check; otherwise name the field below
    for name in ("signature", "timestamp", "nonce", "msg_signature", "encrypt_type"):
        value = getattr(params, name)
        if value is not None and not value.isascii():
            raise Refused(400, f"{name} is not ASCII")


def replay_key(params: PushParams) -> str:
    """What identifies one signed request: the platform signs each push's (timestamp, nonce) anew."""
    return f"{params.signature}:{params.msg_signature or ''}:{params.timestamp}:{params.nonce}"


def open_push(keys: AccountKeys, params: PushParams, body: bytes, *, now: float, window_seconds: int) -> OpenedPush:
    """Verify and, in compatible or safe mode, decrypt a push; raise :class:`Refused` otherwise."""
    well_formed(params)
    if not check_signature(keys.token, params.signature, params.timestamp, params.nonce):
        raise Refused(403, "signature mismatch")
    check_fresh(params.timestamp, now, window_seconds)
    if params.encrypt_type in (None, "", "raw"):
        if not keys.accepts_plaintext:
            raise Refused(403, "this account is in safe mode: plaintext pushes are refused")
        return OpenedPush(body, Mode.PLAINTEXT, None)
    if params.encrypt_type != "aes":
        raise Refused(400, f"unsupported encrypt_type {params.encrypt_type!r}")
    safe = _SAFE_MODE_BODY.fullmatch(body)
    if safe is not None:  # the platform's exact safe-mode shape: no need for a full XML parse
        encrypted, mode = safe.group(1).decode("ascii"), Mode.SAFE
    else:
        try:
            outer = parse_xml(body)
        except InvalidXml as exc:
            raise Refused(400, str(exc)) from None
        encrypted = outer.get("Encrypt", "")
        mode = Mode.COMPATIBLE if "FromUserName" in outer else Mode.SAFE
    if not encrypted:
        raise Refused(400, "encrypt_type=aes without <Encrypt>")
    if not params.msg_signature or not check_signature(
        keys.token, params.msg_signature, params.timestamp, params.nonce, encrypted
    ):
        raise Refused(403, "msg_signature mismatch")
    if not keys.ciphers:
        raise Refused(403, "no EncodingAESKey configured for this account")
    wrong_appid = False
    for cipher in keys.ciphers:  # current key first; during a rotation the platform may use the previous
        try:
            return OpenedPush(cipher.decrypt(encrypted), mode, cipher)
        except AppIdMismatch:
            wrong_appid = True
        except InvalidCiphertext:
            continue
    if wrong_appid:
        raise Refused(403, "decrypted appid does not match the account")
    raise Refused(403, "Encrypt does not decrypt with the current or previous EncodingAESKey")
