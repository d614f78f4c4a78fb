"""Signed redirect links: how a push's links count clicks without trusting what the browser sends.

A link names the push, the variant, the member (empty for a mass send, which is one message for
everybody) and the destination, and carries an HMAC-SHA256 of all four; the redirect endpoint counts a
click only for a link it signed and sends the browser on to the destination the link names. A
destination therefore cannot be swapped for another (no open redirect through our domain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from shared.signing import BadSignature, b64decode, b64encode, seal, unseal

__all__ = ["ClickLink", "LinkForged", "open_click", "sign_click"]

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


def sign_click(key: bytes, link: ClickLink) -> str:
    fields = json.dumps([link.push_id, link.variant, link.openid, link.url], separators=(",", ":"))
    return seal(key, b64encode(fields.encode()), digest_size=_DIGEST_SIZE)


def open_click(key: bytes, token: str) -> ClickLink:
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
    if not (isinstance(fields, list) and len(fields) == 4 and all(isinstance(f, str) for f in fields)):
        raise LinkForged("malformed link")
    link = ClickLink(*fields)
    if not link.url.startswith(("https://", "http://")):
        raise LinkForged("link destination is not http(s)")
    return link
