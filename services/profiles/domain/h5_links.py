"""Links to the profile H5 pages: signed and expiring, instead of WeChat OAuth. Pure.

The link a member gets after following carries ``<appid>.<openid>.<expiry>.<mac>`` (base64url, no
padding), the MAC an HMAC-SHA256 of the rest under the service's secret. Whoever opens it acts for that
member until it expires, so it is short-lived and names exactly one member of one account; nothing
else is needed to trust the form that comes back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["LinkRejected", "MemberLink", "open_link", "seal_link"]


class LinkRejected(Exception):
    """Forged, damaged or expired; the message says which (for logs, not for the page)."""


@dataclass(frozen=True)
class MemberLink:
    appid: str
    openid: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def seal_link(secret: bytes, appid: str, openid: str, expires_at: int) -> str:
    payload = f"{_b64(appid.encode())}.{_b64(openid.encode())}.{expires_at}"
    return f"{payload}.{_mac(secret, payload)}"


def open_link(secret: bytes, token: str, now: float) -> MemberLink:
    parts = token.split(".")
    if len(parts) != 4:
        raise LinkRejected("malformed")
    payload, mac = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_mac(secret, payload), mac):
        raise LinkRejected("bad signature")
    try:
        appid, openid, expires_at = _unb64(parts[0]).decode(), _unb64(parts[1]).decode(), int(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise LinkRejected("malformed") from None
    if now > expires_at:
        raise LinkRejected("expired")
    return MemberLink(appid, openid, expires_at)
