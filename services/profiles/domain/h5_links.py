"""Links to the profile H5 pages: signed and expiring, instead of WeChat OAuth. Pure.

The link a member gets carries ``h5v2.<appid>.<openid>.<page>.<expiry>.<mac>`` (fields base64url, no
padding), the MAC an HMAC-SHA256 of the rest under the service's secret. Whoever opens it acts for that
member until it expires, so it is short-lived and names exactly one member of one account and one
page (``interests`` or ``surveys/<id>``): a survey link does not open the interest page, nor another
survey. Links without the version marker (before pages were bound) are refused; they expired within
``H5_LINK_DAYS`` anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.signing import BadSignature, b64decode, b64encode, seal, unseal

__all__ = ["LinkRejected", "MemberLink", "open_link", "seal_link"]

_VERSION = "h5v2"


class LinkRejected(Exception):
    """Forged, damaged, expired or for another page; the message says which (for logs, not for the page)."""


@dataclass(frozen=True)
class MemberLink:
    appid: str
    openid: str
    expires_at: int
    page: str = "interests"


def seal_link(secret: bytes, appid: str, openid: str, expires_at: int, page: str = "interests") -> str:
    fields = ".".join(b64encode(value.encode()) for value in (appid, openid, page))
    return seal(secret, f"{_VERSION}.{fields}.{expires_at}")


def open_link(secret: bytes, token: str, now: float, page: str | None = None) -> MemberLink:
    """The link ``token`` is, if we signed it, it has not expired and (given ``page``) is for that page."""
    if token.count(".") != 5 or not token.isascii():
        raise LinkRejected("malformed")
    try:
        payload = unseal(secret, token)
    except BadSignature:
        raise LinkRejected("bad signature") from None
    version, appid, openid, signed_page, expiry = payload.split(".")
    if version != _VERSION:
        raise LinkRejected("unknown version")
    try:
        link = MemberLink(
            b64decode(appid).decode(), b64decode(openid).decode(), int(expiry), b64decode(signed_page).decode()
        )
    except (ValueError, UnicodeDecodeError):
        raise LinkRejected("malformed") from None
    if now > link.expires_at:
        raise LinkRejected("expired")
    if page is not None and link.page != page:
        raise LinkRejected("for another page")
    return link
