from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["BadSignature", "b64decode", "b64encode", "seal", "unseal"]

DEFAULT_MAX_LENGTH = 4096


class BadSignature(ValueError):
    """The token is malformed, too long, or was not signed with this key."""


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding: fits in a path or query without escaping."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(text: str) -> bytes:
    """The inverse of :func:`b64encode`; ``ValueError`` for text that is not such base64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str, digest_size: int) -> str:
    return b64encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:digest_size])


def seal(key: bytes, payload: str, *, digest_size: int = 32) -> str:
    """``payload`` and its MAC, joined by a dot (``payload`` may contain dots itself).

    ``digest_size`` (bytes, at most 32) trades length for strength; 16 is plenty for a link.
    """
    if not 16 <= digest_size <= 32:
        raise ValueError("digest_size is between 16 and 32 bytes")
    return f"{payload}.{_mac(key, payload, digest_size)}"


def unseal(key: bytes, token: str, *, digest_size: int = 32, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """The payload :func:`seal` signed under ``key``, or :class:`BadSignature`.

    The encoded MACs are compared (in constant time), so each token has exactly one valid spelling.
    """
    if len(token) > max_length:
        raise BadSignature("token too long")
    payload, dot, mac = token.rpartition(".")
    if not dot:
        raise BadSignature("malformed token")
    if not hmac.compare_digest(mac.encode(), _mac(key, payload, digest_size).encode()):
        raise BadSignature("signature does not match")
    return payload
