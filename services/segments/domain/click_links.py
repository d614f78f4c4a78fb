"""Signed redirect links: how a push's links count clicks without trusting what the browser sends.

A link names the push, the variant, the member (empty for a mass send, which is one message for
everybody), the destination and when it expires, and carries an HMAC-SHA256 of them all; the redirect
endpoint counts a click only for a link it signed and sends the browser on to the destination the link
names. A destination therefore cannot be swapped for another (no open redirect through our domain), and
a destination outside the allowed domains is refused even when signed. Links signed before expiry was
added (four fields) still open; every link signed now expires.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.signing import BadSignature, b64decode, b64encode, seal, unseal

__all__ = ["ClickLink", "LinkForged", "domain_allowed", "link_key", "open_click", "sign_click"]

_MAX_TOKEN = 4096
_DIGEST_SIZE = 16  # a link's MAC: short enough for a URL, long enough that forging one is hopeless


class LinkForged(ValueError):
    """The token was not signed with our key, is damaged, or names no http(s) destination."""


@dataclass(frozen=True)
class ClickLink:
    push_id: str
    variant: str
    openid: str
    url: str
    #: Unix seconds after which the link is refused; None only for links signed before expiry existed.
    expires_at: int | None = None


def domain_allowed(url: str, domains: frozenset[str]) -> bool:
    """Whether ``url``'s host is one of ``domains`` or below one (``brand.example`` allows
    ``shop.brand.example``); an empty set allows every host."""
    if not domains:
        return True
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def sign_click(key: bytes, link: ClickLink) -> str:
    values: list[object] = [link.push_id, link.variant, link.openid, link.url]
    if link.expires_at is not None:
        values.append(link.expires_at)
    fields = json.dumps(values, separators=(",", ":"))
    return seal(key, b64encode(fields.encode()), digest_size=_DIGEST_SIZE)


def open_click(key: bytes, token: str, *, now: float | None = None, domains: frozenset[str] = frozenset()) -> ClickLink:
    """The link ``token`` is; :class:`LinkForged` unless we signed it, it has not expired (given ``now``)
    and its destination is in ``domains`` (when given)."""
    if len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise LinkForged("malformed link")
    try:
        body = unseal(key, token, digest_size=_DIGEST_SIZE, max_length=_MAX_TOKEN)
    except BadSignature:
        raise LinkForged("link signature does not match") from None
    try:
        fields = json.loads(b64decode(body))
    except (ValueError, UnicodeDecodeError):
        raise LinkForged("malformed link") from None
    if not (
        isinstance(fields, list)
        and len(fields) in (4, 5)
        and all(isinstance(f, str) for f in fields[:4])
        and (len(fields) == 4 or (type(fields[4]) is int))
    ):
        raise LinkForged("malformed link")
    link = ClickLink(*fields)
    if not link.url.startswith(("https://", "http://")):
        raise LinkForged("link destination is not http(s)")
    if now is not None and link.expires_at is not None and now > link.expires_at:
        raise LinkForged("link expired")
    if not domain_allowed(link.url, domains):
        raise LinkForged("link destination is not an allowed domain")
    return link


def link_key(url: str) -> str:
    """A short stable key for a destination: counters are kept under it (a URL's dots cannot be a
    MongoDB field name), next to the URL it stands for."""
    return "l" + hashlib.blake2b(url.encode(), digest_size=6).hexdigest()
