"""Links to the profile H5 pages: signed and expiring, instead of WeChat OAuth. Pure.

The link a member gets after following carries ``<appid>.<openid>.<expiry>.<mac>`` (base64url, no
padding), the MAC an HMAC-SHA256 of the rest under the service's secret. Whoever opens it acts for that
member until it expires, so it is short-lived and names exactly one member of one account; nothing
else is needed to trust the form that comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.signing import BadSignature, b64decode, b64encode, seal, unseal

__all__ = ["LinkRejected", "MemberLink", "open_link", "seal_link"]


class LinkRejected(Exception):
    """Forged, damaged or expired; the message says which (for logs, not for the page)."""


@dataclass(frozen=True)
class MemberLink:
    appid: str
    openid: str
    expires_at: int


def seal_link(secret: bytes, appid: str, openid: str, expires_at: int) -> str:
    return seal(secret, f"{b64encode(appid.encode())}.{b64encode(openid.encode())}.{expires_at}")


def open_link(secret: bytes, token: str, now: float) -> MemberLink:
    if token.count(".") != 3:
        raise LinkRejected("malformed")
    try:
        payload = unseal(secret, token)
    except BadSignature:
        raise LinkRejected("bad signature") from None
    appid, openid, expiry = payload.split(".")
    try:
        member = MemberLink(b64decode(appid).decode(), b64decode(openid).decode(), int(expiry))
    except (ValueError, UnicodeDecodeError):
        raise LinkRejected("malformed") from None
    if now > member.expires_at:
        raise LinkRejected("expired")
    return member
