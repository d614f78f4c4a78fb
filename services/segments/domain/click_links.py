"""Signed redirect links: how a push's links count clicks without trusting what the browser sends.

A link names the push, the variant, the member (empty for a mass send, which is one message for
everybody) and the destination, and carries an HMAC-SHA256 of all four; the redirect endpoint counts a
click only for a link it signed and sends the browser on to the destination the link names. A
destination therefore cannot be swapped for another (no open redirect through our domain).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

__all__ = ["ClickLink", "LinkForged", "open_click", "sign_click"]

_MAX_TOKEN = 4096


class LinkForged(ValueError):
    """The token was not signed with our key, is damaged, or names no http(s) destination."""


@dataclass(frozen=True)
class ClickLink:
    push_id: str
    variant: str
    openid: str
    url: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_click(key: bytes, link: ClickLink) -> str:
    body = _b64(json.dumps([link.push_id, link.variant, link.openid, link.url], separators=(",", ":")).encode())
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


def open_click(key: bytes, token: str) -> ClickLink:
    if len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise LinkForged("malformed link")
    body, mac = token.split(".")
    # The encoded forms are compared, so each link has exactly one valid spelling.
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:16])
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise LinkForged("link signature does not match")
    try:
        fields = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        raise LinkForged("malformed link") from None
    if not (isinstance(fields, list) and len(fields) == 4 and all(isinstance(f, str) for f in fields)):
        raise LinkForged("malformed link")
    link = ClickLink(*fields)
    if not link.url.startswith(("https://", "http://")):
        raise LinkForged("link destination is not http(s)")
    return link
